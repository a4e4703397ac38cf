/// A role in the theme, not a colour: screens say what a thing is, the theme says how it looks.
public enum Role: String, CaseIterable, Sendable {
    case normal, dim, accent, title, tabActive, tabInactive, status, footer, key
    case user, assistant, system, prefill, selection, match, error, warning, border, help
}

/// How a cell is drawn: a theme role plus attributes the screen adds itself.
public struct Style: Equatable, Hashable, Sendable {
    public var role: Role
    public var bold: Bool
    public var reverse: Bool
    public var underline: Bool
    public init(_ role: Role = .normal, bold: Bool = false, reverse: Bool = false, underline: Bool = false) {
        self.role = role
        self.bold = bold
        self.reverse = reverse
        self.underline = underline
    }
    public static let normal = Style()
}

/// One terminal cell: a grapheme (or "" for the right half of a wide character) and its style.
public struct Cell: Equatable, Sendable {
    public var text: String
    public var style: Style
    public init(_ text: String = " ", style: Style = .normal) {
        self.text = text
        self.style = style
    }
}
