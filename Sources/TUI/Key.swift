/// A key press, decoded from the terminal (or made by a test).
public enum Key: Equatable, Hashable, Sendable {
    case char(Character)
    case enter, escape, tab, backTab, backspace, delete
    case up, down, left, right, pageUp, pageDown, home, end
    /// Ctrl plus a letter (lowercase), e.g. `.ctrl("c")`.
    case ctrl(Character)
    /// Alt (Meta) plus a key, sent by terminals as ESC then the key.
    case alt(Character)
    case function(Int)

    /// How the help overlay and footer write it.
    public var label: String {
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .tab: return "Tab"
        case .backTab: return "Shift-Tab"
        case .backspace: return "Backspace"
        case .delete: return "Del"
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .ctrl(let c): return "Ctrl-\(c.uppercased())"
        case .alt(let c): return "Alt-\(c)"
        case .function(let n): return "F\(n)"
        }
    }
}

/// A one-line (soft-wrapped) editable text with a cursor, counted in characters (graphemes).
public struct TextField: Equatable, Sendable {
    public var text: String { didSet { cursor = min(cursor, text.count) } }
    public var cursor: Int

    public init(_ text: String = "") {
        self.text = text
        cursor = text.count
    }

    public var isEmpty: Bool { text.isEmpty }

    /// Applies an editing key; returns false when the key is not an editing key.
    public mutating func handle(_ key: Key) -> Bool {
        switch key {
        case .char(let c):
            insert(String(c))
        case .backspace, .ctrl("h"):
            guard cursor > 0 else { return true }
            cursor -= 1
            text.remove(at: text.index(text.startIndex, offsetBy: cursor))
        case .delete, .ctrl("d"):
            guard cursor < text.count else { return true }
            text.remove(at: text.index(text.startIndex, offsetBy: cursor))
        case .left, .ctrl("b"): cursor = max(0, cursor - 1)
        case .right, .ctrl("f"): cursor = min(text.count, cursor + 1)
        case .home, .ctrl("a"): cursor = 0
        case .end, .ctrl("e"): cursor = text.count
        case .ctrl("u"):
            text.removeSubrange(text.startIndex..<text.index(text.startIndex, offsetBy: cursor))
            cursor = 0
        case .ctrl("k"):
            text.removeSubrange(text.index(text.startIndex, offsetBy: cursor)...)
        case .ctrl("w"):
            // Delete the word before the cursor (and the spaces after it).
            let chars = Array(text)
            var i = cursor
            while i > 0, chars[i - 1] == " " { i -= 1 }
            while i > 0, chars[i - 1] != " " { i -= 1 }
            text = String(chars[..<i]) + String(chars[cursor...])
            cursor = i
        default:
            return false
        }
        return true
    }

    public mutating func insert(_ s: String) {
        let i = text.index(text.startIndex, offsetBy: cursor)
        text.insert(contentsOf: s, at: i)
        cursor += s.count
    }

    public mutating func set(_ s: String) {
        text = s
        cursor = s.count
    }
}
