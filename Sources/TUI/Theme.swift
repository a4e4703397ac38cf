import Foundation
import Workbench
import Techniques
import Model

/// A colour as a theme file writes it.
public enum ThemeColor: Equatable, Hashable, Sendable {
    case terminalDefault
    case index(Int)  // 0-255

    static let names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    static func parse(_ word: String) -> ThemeColor? {
        if word == "default" { return .terminalDefault }
        if let n = Int(word), (0...255).contains(n) { return .index(n) }
        if let i = names.firstIndex(of: word) { return .index(i) }
        if word.hasPrefix("bright-"), let i = names.firstIndex(of: String(word.dropFirst(7))) { return .index(i + 8) }
        return nil
    }

    /// The nearest of the 16 basic colours to a 256-palette colour (xterm's cube and grey ramp).
    func nearest16() -> ThemeColor {
        guard case .index(let n) = self, n >= 16 else { return self }
        let rgb: (Int, Int, Int)
        if n >= 232 {
            let g = 8 + (n - 232) * 10
            rgb = (g, g, g)
        } else {
            let c = n - 16, steps = [0, 95, 135, 175, 215, 255]
            rgb = (steps[c / 36], steps[(c / 6) % 6], steps[c % 6])
        }
        let basic: [(Int, Int, Int)] = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205),
                                         (0, 205, 205), (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0),
                                         (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]
        var best = 0, bestD = Int.max
        for (i, b) in basic.enumerated() {
            let d = (b.0 - rgb.0) * (b.0 - rgb.0) + (b.1 - rgb.1) * (b.1 - rgb.1) + (b.2 - rgb.2) * (b.2 - rgb.2)
            if d < bestD { bestD = d; best = i }
        }
        return .index(best)
    }
}

/// How one role looks: colours and attributes.
public struct RoleLook: Equatable, Hashable, Sendable {
    public var foreground: ThemeColor = .terminalDefault
    public var background: ThemeColor = .terminalDefault
    public var bold = false
    public var underline = false
    public var reverse = false
}

/// How many colours the terminal shows (or none: NO_COLOR).
public enum ColorDepth: Sendable, Equatable {
    case none, eight, sixteen, full256

    public static func from(colors: Int, noColor: Bool) -> ColorDepth {
        if noColor || colors < 8 { return .none }
        if colors >= 256 { return .full256 }
        return colors >= 16 ? .sixteen : .eight
    }
}

/// A theme: a look per role, for 256 colours and for 16. Themes are text files in `themes/`
/// (format documented at the top of themes/dark.theme).
public struct Theme: Equatable, Sendable {
    public var name: String
    var looks256: [Role: RoleLook]
    var looks16: [Role: RoleLook]

    public struct ParseError: Error, CustomStringConvertible {
        public var file: String, line: Int, message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    public init(name: String, source: String, file: String = "theme") throws {
        self.name = name
        looks256 = [:]
        looks16 = [:]
        // "\r\n" is one Character in Swift, so it is a separator of its own.
        let lines = source.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (n, raw) in lines.enumerated() {
            func fail(_ message: String) -> ParseError { ParseError(file: file, line: n + 1, message: message) }
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw fail("expected `ROLE = FG BG [bold] [underline] [reverse]`")
            }
            let lhs = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            let rhs = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard !lhs.isEmpty else { throw fail("expected a role before `=`") }
            if lhs == "name" {
                guard !rhs.isEmpty else { throw fail("expected a name after `name =`") }
                self.name = rhs
                continue
            }
            // Empty parts kept, so `.`, `x.` and `.16` are errors rather than an empty key list.
            let key = lhs.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard let first = key.first, !first.isEmpty else {
                throw fail("expected a role before `.` (roles: \(Role.allCases.map(\.rawValue).joined(separator: " ")))")
            }
            guard let role = Role(rawValue: first) else {
                throw fail("unknown role '\(UntrustedText.excerpt(first))' (roles: \(Role.allCases.map(\.rawValue).joined(separator: " ")))")
            }
            guard key.count == 1 || (key.count == 2 && key[1] == "16") else {
                throw fail("only ROLE or ROLE.16 may stand before `=`")
            }
            let words = rhs.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.count >= 2, let fg = ThemeColor.parse(words[0]), let bg = ThemeColor.parse(words[1]) else {
                throw fail("expected two colours (default, 0-255 or a colour name)")
            }
            var look = RoleLook(foreground: fg, background: bg)
            for attr in words.dropFirst(2) {
                switch attr {
                case "bold": look.bold = true
                case "underline": look.underline = true
                case "reverse": look.reverse = true
                default: throw fail("unknown attribute '\(UntrustedText.excerpt(attr))' (bold, underline, reverse)")
                }
            }
            if key.count == 2 { looks16[role] = look } else { looks256[role] = look }
        }
        guard looks256[.normal] != nil else { throw ParseError(file: file, line: 0, message: "a theme must define `normal`") }
    }

    /// The look of `role` at a colour depth. Roles the theme leaves out look like `normal`; with no
    /// colour only the attributes remain, plus reverse video where the role would stand out by colour.
    public func look(_ role: Role, depth: ColorDepth) -> RoleLook {
        let base = looks256[role] ?? looks256[.normal] ?? RoleLook()
        switch depth {
        case .full256:
            return base
        case .sixteen, .eight:
            var l = looks16[role] ?? RoleLook(foreground: base.foreground.nearest16(), background: base.background.nearest16(),
                                               bold: base.bold, underline: base.underline, reverse: base.reverse)
            if depth == .eight {
                // Bright colours become bold normal ones.
                if case .index(let n) = l.foreground, n >= 8 { l.foreground = .index(n - 8); l.bold = true }
                if case .index(let n) = l.background, n >= 8 { l.background = .index(n - 8) }
            }
            return l
        case .none:
            let standsOut: Set<Role> = [.tabActive, .status, .selection, .match, .footer, .help]
            return RoleLook(bold: base.bold, underline: base.underline, reverse: base.reverse || standsOut.contains(role))
        }
    }

    /// Where theme files live: `$WORKBENCH_THEMES`, or `themes/` beside the models folder's project.
    public static var directory: URL {
        if let dir = ProcessInfo.processInfo.environment["WORKBENCH_THEMES"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return ProjectFiles.locate("themes")
    }

    /// Every theme `load(named:)` finds: the files in `directory` and the built-in ones.
    public static func available() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let named = files.filter { $0.hasSuffix(".theme") }.map { String($0.dropLast(6)) }
        return Set(named + builtIn.keys).sorted()
    }

    /// A theme by name: `directory/NAME.theme` when there is one (a user's own, or an edited
    /// shipped theme in a checkout), else the built-in theme of that name, so the shipped themes
    /// work wherever the binary runs.
    public static func load(named name: String) throws -> Theme {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !name.isEmpty else {
            throw ParseError(file: UntrustedText.excerpt(name), line: 0, message: "a theme name is letters, digits, - and _")
        }
        let url = directory.appendingPathComponent(name + ".theme")
        if !FileManager.default.fileExists(atPath: url.path), let source = builtIn[name] {
            return try Theme(name: name, source: source, file: "built-in \(name).theme")
        }
        return try load(from: url)
    }

    public static func load(from url: URL) throws -> Theme {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ParseError(file: url.path, line: 0, message: "no such theme (available: \(available().joined(separator: ", ")))")
        }
        return try Theme(name: url.deletingPathExtension().lastPathComponent, source: String(decoding: data, as: UTF8.self), file: url.path)
    }

    /// Used when no theme file can be read: the terminal's own colours, roles told apart by attributes.
    public static let plain = try! Theme(name: "plain", source: """
        normal = default default
        accent = default default bold
        title = default default bold
        tabActive = default default reverse bold
        status = default default reverse
        key = default default bold
        user = default default bold
        prefill = default default underline
        selection = default default reverse
        match = default default reverse bold
        error = default default bold
        """)
}
