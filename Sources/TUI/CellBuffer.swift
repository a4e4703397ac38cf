import Workbench

/// A rectangle of the screen.
public struct Rect: Equatable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(0, width); self.height = max(0, height)
    }
    public var maxY: Int { y + height }
    public var maxX: Int { x + width }
    /// The top `n` rows, and the rest.
    public func splitTop(_ n: Int) -> (Rect, Rect) {
        let k = min(max(0, n), height)
        return (Rect(x: x, y: y, width: width, height: k), Rect(x: x, y: y + k, width: width, height: height - k))
    }
    public func splitBottom(_ n: Int) -> (Rect, Rect) {
        let k = min(max(0, n), height)
        return (Rect(x: x, y: y, width: width, height: height - k), Rect(x: x, y: maxY - k, width: width, height: k))
    }
    public func splitLeft(_ n: Int) -> (Rect, Rect) {
        let k = min(max(0, n), width)
        return (Rect(x: x, y: y, width: k, height: height), Rect(x: x + k, y: y, width: width - k, height: height))
    }
    public func inset(_ dx: Int, _ dy: Int) -> Rect {
        Rect(x: x + dx, y: y + dy, width: width - 2 * dx, height: height - 2 * dy)
    }
}

/// The screen as cells, drawn by the view and then copied to the terminal (or compared in a test).
/// Every string that enters goes through the sanitizer first, so nothing drawn can carry an escape.
public struct CellBuffer: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    /// Where the terminal cursor goes (a text field being edited), if anywhere.
    public var cursor: (x: Int, y: Int)? = nil

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(), count: self.width * self.height)
    }

    public static func == (a: CellBuffer, b: CellBuffer) -> Bool {
        a.width == b.width && a.height == b.height && a.cells == b.cells && a.cursor?.x == b.cursor?.x && a.cursor?.y == b.cursor?.y
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    public mutating func fill(_ rect: Rect, style: Style) {
        for y in max(0, rect.y)..<min(height, rect.maxY) {
            for x in max(0, rect.x)..<min(width, rect.maxX) { self[x, y] = Cell(" ", style: style) }
        }
    }

    /// Draws `text` at (x, y), clipped to `limit` columns (default: the screen edge); returns the
    /// column after the last cell written. Text is sanitized; newlines and tabs draw as spaces.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        guard y >= 0, y < height else { return x }
        let end = min(width, limit ?? width)
        var col = x
        for ch in ScreenText.clean(text) {
            let w = CellWidth.of(ch)
            if w == 0 {
                // A lone combining mark (no base in this run) would merge with the previous cell.
                if col > x, col - 1 < end, col - 1 >= 0 { self[col - 1, y].text.append(ch) }
                continue
            }
            if col + w > end { break }
            if col >= 0 {
                self[col, y] = Cell(String(ch), style: style)
                if w == 2 { self[col + 1, y] = Cell("", style: style) }
            }
            col += w
        }
        return col
    }

    /// Draws styled spans on one row.
    @discardableResult
    public mutating func put(_ line: StyledLine, x: Int, y: Int, limit: Int? = nil) -> Int {
        var col = x
        for span in line.spans { col = put(span.text, x: col, y: y, style: span.style, limit: limit) }
        return col
    }

    /// The screen as plain text, one string per row (trailing spaces trimmed): for snapshot tests.
    public func textLines() -> [String] {
        (0..<height).map { y in
            var s = ""
            for x in 0..<width { s += self[x, y].text }
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
    }

    public var text: String { textLines().joined(separator: "\n") }

    /// Rows where any cell has `role`, as text with those cells marked: for tests of highlighting.
    public func cells(withRole role: Role) -> [(x: Int, y: Int)] {
        var out: [(Int, Int)] = []
        for y in 0..<height { for x in 0..<width where self[x, y].style.role == role { out.append((x, y)) } }
        return out
    }
}

/// What may reach a cell: the terminal sanitizer's output with its remaining layout characters
/// (newline, tab) turned into spaces, since a cell is one line.
public enum ScreenText {
    public static func clean(_ text: String) -> String {
        var s = TerminalText.sanitize(text)
        if s.contains(where: { $0 == "\n" || $0 == "\t" || $0 == "\r\n" }) {
            s = String(s.map { $0 == "\n" || $0 == "\t" || $0 == "\r\n" ? " " : $0 })
        }
        return s
    }
}
