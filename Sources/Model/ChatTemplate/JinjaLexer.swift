// Tokeniser for the Jinja subset used by chat templates.
//
// The lexer resolves all whitespace handling, so the parser only sees finished text:
//  * `{%-` / `{{-` / `{#-` strip whitespace before the tag, `-%}` / `-}}` / `-#}` after it;
//  * trim_blocks: the first newline after a block or comment tag is dropped;
//  * lstrip_blocks: spaces/tabs between a line start and a block or comment tag are
//    dropped (`{%+` opts out);
//  * like jinja2's default keep_trailing_newline=False, one trailing newline of the
//    template source is dropped, and line endings are normalised to "\n".
// These are the settings transformers' apply_chat_template uses.

struct JinjaSourceLocation: Sendable, Equatable, CustomStringConvertible {
    var line: Int
    var column: Int
    var description: String { "line \(line):\(column)" }
}

enum JinjaTokenKind: Equatable {
    case text(String)
    case outputOpen, outputClose  // {{ }}
    case blockOpen, blockClose  // {% %}
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case op(String)  // operators and punctuation
    case end
}

struct JinjaToken {
    var kind: JinjaTokenKind
    var location: JinjaSourceLocation
}

struct JinjaLexer {
    private let src: [Unicode.Scalar]
    private var pos = 0
    private var tokens: [JinjaToken] = []
    /// Line-start offsets, for turning an offset into line:column.
    private var lineStarts: [Int] = [0]

    init(source: String) {
        // Normalise newlines (jinja2 does the same to text and string literals).
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(source.unicodeScalars.count)
        var previousWasCR = false
        for scalar in source.unicodeScalars {
            if scalar == "\r" {
                scalars.append("\n")
                previousWasCR = true
                continue
            }
            if scalar == "\n" && previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = false
            scalars.append(scalar)
        }
        if scalars.last == "\n" { scalars.removeLast() }  // keep_trailing_newline=False
        src = scalars
        for (i, s) in src.enumerated() where s == "\n" { lineStarts.append(i + 1) }
    }

    func location(_ offset: Int) -> JinjaSourceLocation {
        // Binary search for the last line start <= offset.
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return JinjaSourceLocation(line: low + 1, column: offset - lineStarts[low] + 1)
    }

    private func error(_ message: String, at offset: Int) -> ChatTemplateError {
        ChatTemplateError(description: "\(location(offset)): \(message)")
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        let i = pos + offset
        return i < src.count ? src[i] : nil
    }

    private func matches(_ text: String, at offset: Int) -> Bool {
        var i = offset
        for scalar in text.unicodeScalars {
            guard i < src.count, src[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    // MARK: Template level

    mutating func tokenize() throws -> [JinjaToken] {
        while pos < src.count {
            let textStart = pos
            guard let tagStart = nextTagStart(from: pos) else {
                emitText(from: textStart, to: src.count, stripTrailing: false, lstrip: false)
                pos = src.count
                break
            }
            let kind = src[tagStart + 1]  // "{", "%" or "#"
            var bodyStart = tagStart + 2
            var stripBefore = false
            var keepIndent = false
            if bodyStart < src.count && src[bodyStart] == "-" {
                stripBefore = true
                bodyStart += 1
            } else if bodyStart < src.count && src[bodyStart] == "+" && kind != "{" {
                keepIndent = true
                bodyStart += 1
            }
            emitText(
                from: textStart, to: tagStart, stripTrailing: stripBefore,
                lstrip: kind != "{" && !keepIndent)

            pos = bodyStart
            switch kind {
            case "#": try lexComment(openedAt: tagStart)
            case "{": try lexTag(openedAt: tagStart, isBlock: false)
            default: try lexTag(openedAt: tagStart, isBlock: true)
            }
        }
        tokens.append(JinjaToken(kind: .end, location: location(src.count)))
        return tokens
    }

    private func nextTagStart(from start: Int) -> Int? {
        var i = start
        while i + 1 < src.count {
            if src[i] == "{" {
                let next = src[i + 1]
                if next == "{" || next == "%" || next == "#" { return i }
            }
            i += 1
        }
        return nil
    }

    /// Emits literal text, applying `-` stripping or lstrip_blocks to its end.
    private mutating func emitText(from start: Int, to end: Int, stripTrailing: Bool, lstrip: Bool) {
        var end = end
        if stripTrailing {
            while end > start && JinjaText.isWhitespace(src[end - 1]) { end -= 1 }
        } else if lstrip {
            // Only strip if the tag is the first non-blank thing on its line.
            var i = end
            while i > start && (src[i - 1] == " " || src[i - 1] == "\t") { i -= 1 }
            let atLineStart = i == 0 || src[i - 1] == "\n"
            if atLineStart { end = i }
        }
        guard end > start else { return }
        var text = String.UnicodeScalarView()
        text.append(contentsOf: src[start..<end])
        tokens.append(JinjaToken(kind: .text(String(text)), location: location(start)))
    }

    /// After a tag: `-` strips all following whitespace; trim_blocks drops one newline
    /// after block and comment tags unless `+` was given.
    private mutating func handleAfterTag(stripAfter: Bool, keepNewline: Bool, isBlockOrComment: Bool) {
        if stripAfter {
            while pos < src.count && JinjaText.isWhitespace(src[pos]) { pos += 1 }
        } else if isBlockOrComment && !keepNewline && pos < src.count && src[pos] == "\n" {
            pos += 1
        }
    }

    private mutating func lexComment(openedAt start: Int) throws {
        while pos + 1 < src.count {
            if src[pos] == "#" && src[pos + 1] == "}" {
                let stripAfter = pos > start + 2 && src[pos - 1] == "-"
                let keepNewline = pos > start + 2 && src[pos - 1] == "+"
                pos += 2
                handleAfterTag(stripAfter: stripAfter, keepNewline: keepNewline, isBlockOrComment: true)
                return
            }
            pos += 1
        }
        throw error("unclosed comment; expected '#}'", at: start)
    }

    // MARK: Tag contents

    private mutating func lexTag(openedAt start: Int, isBlock: Bool) throws {
        let closer: Unicode.Scalar = isBlock ? "%" : "}"
        let firstToken = tokens.count
        tokens.append(JinjaToken(kind: isBlock ? .blockOpen : .outputOpen, location: location(start)))
        var openBrackets: [(bracket: Unicode.Scalar, offset: Int)] = []

        while true {
            while let c = peek(), JinjaText.isWhitespace(c) { pos += 1 }
            guard let c = peek() else {
                if let open = openBrackets.last {
                    throw error("unclosed '\(open.bracket)' in expression", at: open.offset)
                }
                throw error("unclosed '\(isBlock ? "{%" : "{{")'; expected '\(isBlock ? "%}" : "}}")'", at: start)
            }
            // Closing delimiter, optionally with a whitespace-control marker. Inside
            // brackets `}}` belongs to a dict literal, as in jinja2.
            if openBrackets.isEmpty {
                var marker: Unicode.Scalar? = nil
                var offset = 0
                if c == "-" || c == "+" {
                    marker = c
                    offset = 1
                }
                if peek(offset) == closer && peek(offset + 1) == "}" {
                    tokens.append(
                        JinjaToken(kind: isBlock ? .blockClose : .outputClose, location: location(pos)))
                    pos += offset + 2
                    if isBlock, try handleRawBlock(firstToken: firstToken) { return }
                    handleAfterTag(stripAfter: marker == "-", keepNewline: marker == "+", isBlockOrComment: isBlock)
                    return
                }
            }
            let tokenStart = pos
            if isIdentifierStart(c) {
                var name = String.UnicodeScalarView()
                while let d = peek(), isIdentifierContinue(d) {
                    name.append(d)
                    pos += 1
                }
                tokens.append(JinjaToken(kind: .name(String(name)), location: location(tokenStart)))
            } else if ("0"..."9").contains(c) {
                tokens.append(JinjaToken(kind: try lexNumber(), location: location(tokenStart)))
            } else if c == "'" || c == "\"" {
                tokens.append(JinjaToken(kind: .string(try lexString()), location: location(tokenStart)))
            } else {
                let op = try lexOperator()
                switch op {
                case "(", "[", "{": openBrackets.append((src[tokenStart], tokenStart))
                case ")", "]", "}":
                    if let open = openBrackets.popLast() {
                        let expected: Unicode.Scalar = open.bracket == "(" ? ")" : (open.bracket == "[" ? "]" : "}")
                        if src[tokenStart] != expected {
                            throw error(
                                "unclosed '\(open.bracket)' in expression (found '\(src[tokenStart])' at \(location(tokenStart)))",
                                at: open.offset)
                        }
                    }
                default: break
                }
                tokens.append(JinjaToken(kind: .op(op), location: location(tokenStart)))
            }
        }
    }

    /// `{% raw %}…{% endraw %}`: everything in between is literal text.
    private mutating func handleRawBlock(firstToken: Int) throws -> Bool {
        guard tokens.count == firstToken + 3, case .name("raw") = tokens[firstToken + 1].kind else {
            return false
        }
        let rawOpen = tokens[firstToken].location
        let closeMarker = pos >= 3 ? src[pos - 3] : " "
        tokens.removeLast(3)
        handleAfterTag(stripAfter: closeMarker == "-", keepNewline: closeMarker == "+", isBlockOrComment: true)
        let contentStart = pos
        var i = pos
        while let tagStart = nextTagStart(from: i) {
            var j = tagStart + 2
            guard src[tagStart + 1] == "%" else { i = tagStart + 1; continue }
            var stripBefore = false
            if j < src.count && (src[j] == "-" || src[j] == "+") {
                stripBefore = src[j] == "-"
                j += 1
            }
            while j < src.count && JinjaText.isWhitespace(src[j]) { j += 1 }
            guard matches("endraw", at: j) else { i = tagStart + 1; continue }
            j += 6
            while j < src.count && JinjaText.isWhitespace(src[j]) { j += 1 }
            var marker: Unicode.Scalar? = nil
            if j < src.count && (src[j] == "-" || src[j] == "+") {
                marker = src[j]
                j += 1
            }
            guard matches("%}", at: j) else { i = tagStart + 1; continue }
            emitText(from: contentStart, to: tagStart, stripTrailing: stripBefore, lstrip: !stripBefore)
            pos = j + 2
            handleAfterTag(stripAfter: marker == "-", keepNewline: marker == "+", isBlockOrComment: true)
            return true
        }
        throw ChatTemplateError(description: "\(rawOpen): unclosed 'raw' block; expected '{% endraw %}'")
    }

    private mutating func lexNumber() throws -> JinjaTokenKind {
        let start = pos
        var text = ""
        var isFloat = false
        func digits() {
            while let d = peek(), ("0"..."9").contains(d) || d == "_" {
                if d != "_" { text.unicodeScalars.append(d) }
                pos += 1
            }
        }
        digits()
        // A fraction needs a digit after the point, so `x.0` style access still lexes.
        if peek() == ".", let d = peek(1), ("0"..."9").contains(d) {
            isFloat = true
            text += "."
            pos += 1
            digits()
        }
        if let e = peek(), e == "e" || e == "E" {
            var offset = 1
            if let sign = peek(1), sign == "+" || sign == "-" { offset = 2 }
            if let d = peek(offset), ("0"..."9").contains(d) {
                isFloat = true
                text += "e"
                if offset == 2 { text.unicodeScalars.append(peek(1)!) }
                pos += offset
                digits()
            }
        }
        if isFloat {
            guard let value = Double(text) else { throw error("invalid number '\(UntrustedText.excerpt(text))'", at: start) }
            return .float(value)
        }
        guard let value = Int(text) else { throw error("integer '\(UntrustedText.excerpt(text))' is too large", at: start) }
        return .integer(value)
    }

    /// String literal with Python escape rules (unknown escapes keep their backslash).
    private mutating func lexString() throws -> String {
        let start = pos
        let quote = src[pos]
        pos += 1
        var out = String.UnicodeScalarView()
        while let c = peek() {
            pos += 1
            if c == quote { return String(out) }
            guard c == "\\" else {
                out.append(c)
                continue
            }
            guard let e = peek() else { break }
            pos += 1
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "0": out.append("\0")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "\n": break  // line continuation
            case "x", "u", "U":
                let width = e == "x" ? 2 : (e == "u" ? 4 : 8)
                var value: UInt32 = 0
                var ok = true
                for _ in 0..<width {
                    guard let h = peek(), h.isASCII, let digit = UInt32(String(h), radix: 16) else {
                        ok = false
                        break
                    }
                    value = value * 16 + digit
                    pos += 1
                }
                guard ok, let scalar = Unicode.Scalar(value) else {
                    throw error("invalid \\\(e) escape in string literal", at: pos - 1)
                }
                out.append(scalar)
            default:
                out.append("\\")
                out.append(e)
            }
        }
        throw error("unterminated string literal", at: start)
    }

    private static let operators = [
        "//", "**", "==", "!=", "<=", ">=",
        "+", "-", "*", "/", "%", "~", "<", ">", "=",
        "(", ")", "[", "]", "{", "}", ",", ".", ":", "|",
    ]

    private mutating func lexOperator() throws -> String {
        for op in Self.operators where matches(op, at: pos) {
            pos += op.unicodeScalars.count
            return op
        }
        throw error("unexpected character '\(src[pos])'", at: pos)
    }
}

extension JinjaText {
    /// Python's str.isspace set (Unicode White_Space plus the ASCII separators 0x1C–0x1F).
    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
    }
}

private func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
    c == "_" || c.properties.isAlphabetic
}

private func isIdentifierContinue(_ c: Unicode.Scalar) -> Bool {
    c == "_" || c.properties.isAlphabetic || ("0"..."9").contains(c)
}
