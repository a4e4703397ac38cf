import Workbench

/// A run of text in one style.
public struct Span: Equatable, Sendable {
    public var text: String
    public var style: Style
    public init(_ text: String, _ style: Style = .normal) {
        self.text = text
        self.style = style
    }
}

/// One row of styled text (before or after wrapping).
public struct StyledLine: Equatable, Sendable {
    public var spans: [Span]
    public init(_ spans: [Span] = []) { self.spans = spans }
    public init(_ text: String, _ style: Style = .normal) { spans = [Span(text, style)] }
    public var plain: String { spans.map(\.text).joined() }

    /// Appends text, extending the last span when the style is the same (so per-character
    /// styling still draws as a few runs).
    public mutating func append(_ text: String, _ style: Style) {
        if let last = spans.last, last.style == style { spans[spans.count - 1].text += text } else { spans.append(Span(text, style)) }
    }
    public static func + (a: StyledLine, b: StyledLine) -> StyledLine { StyledLine(a.spans + b.spans) }
}

/// Wraps styled text into rows of at most `width` terminal cells: breaks at spaces where it can,
/// inside a word where it must, never between a wide character's halves. Newlines start new rows.
/// Text is sanitized first, so the widths counted are the widths drawn.
public enum Wrap {
    public static func lines(_ text: String, width: Int, style: Style = .normal, indent: String = "") -> [StyledLine] {
        lines(StyledLine(text, style), width: width, indent: indent)
    }

    public static func lines(_ line: StyledLine, width: Int, indent: String = "") -> [StyledLine] {
        guard width > 0 else { return [] }
        // Flatten to (character, style), splitting at newlines.
        var paragraphs: [[(Character, Style)]] = [[]]
        for span in line.spans {
            for ch in TerminalText.sanitize(span.text) {
                if ch == "\n" || ch == "\r\n" { paragraphs.append([]); continue }
                paragraphs[paragraphs.count - 1].append((ch == "\t" ? " " : ch, span.style))
            }
        }
        let indentWidth = min(CellWidth.of(indent), width - 1)
        var out: [StyledLine] = []
        for para in paragraphs {
            var start = 0
            var first = true
            if para.isEmpty { out.append(StyledLine()); continue }
            while start < para.count {
                let avail = first ? width : width - indentWidth
                // Find how many characters fit.
                var used = 0, end = start, lastSpace = -1
                while end < para.count {
                    let w = CellWidth.of(para[end].0)
                    if used + w > avail { break }
                    if para[end].0 == " " { lastSpace = end }
                    used += w
                    end += 1
                }
                if end == start { end = start + 1 }  // a character wider than the row: show it anyway
                // Break after the last space that fits (or at a space right after a full row).
                var cut = end, next = end
                if end < para.count {
                    if para[end].0 == " " {
                        next = end + 1
                    } else if lastSpace > start {
                        cut = lastSpace + 1
                        next = cut
                    }
                }
                var row = StyledLine()
                if !first && indentWidth > 0 { row.spans.append(Span(String(indent.prefix(indentWidth)), para[start].1)) }
                var i = start
                while i < cut {
                    let style = para[i].1
                    var s = ""
                    while i < cut, para[i].1 == style { s.append(para[i].0); i += 1 }
                    row.spans.append(Span(s, style))
                }
                out.append(row)
                start = next
                first = false
            }
        }
        return out
    }
}
