import Foundation

/// A word of searchable text: its normalised term and where it sits in the text.
public struct SearchToken: Sendable, Equatable {
    public var term: String
    public var range: Range<String.Index>
}

/// The tokenizer training-data search indexes and queries with. Words are runs of letters and
/// digits in any script (combining marks stay with their word), lowercased and NFC-normalised, so
/// "Café" and "cafe\u{301}" are one term. Han ideographs and kana are one token each, since those
/// scripts put no spaces between words: a phrase query over the characters then finds a word. Everything
/// else (punctuation, spaces, symbols, emoji) separates words, so "9-1-1" is three tokens and
/// "reward_model" two. No stemming: "models" does not match "model" (use `model*`). A word longer
/// than `maxTermScalars` is cut there (on both sides, so queries still find it), which keeps base64
/// and other junk from bloating the dictionary.
public enum SearchTokenizer {
    public static let maxTermScalars = 64

    private enum Kind { case none, word, mark, single }

    @inline(__always)
    private static func kind(_ s: Unicode.Scalar) -> Kind {
        let v = s.value
        if v < 0x80 {
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) ? .word : .none
        }
        let p = s.properties
        if p.isIdeographic || (v >= 0x3040 && v <= 0x30FF) { return .single }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark:
            return .mark
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber:
            return .word
        default:
            return .none
        }
    }

    /// Calls `body(term, start, end)` for each token of `text`, in order.
    @inline(__always)
    private static func scan(_ text: String, _ body: (String, String.Index, String.Index) -> Void) {
        let scalars = text.unicodeScalars
        var term: [UInt8] = []   // UTF-8 of the lowercased word (cheaper to build than a String)
        term.reserveCapacity(64)
        var start = scalars.startIndex
        var count = 0
        var ascii = true
        var inWord = false

        func finish(at end: String.Index) {
            let word = String(decoding: term, as: UTF8.self)
            body(ascii ? word : word.precomposedStringWithCanonicalMapping, start, end)
            term.removeAll(keepingCapacity: true)
            count = 0
            ascii = true
            inWord = false
        }

        var i = scalars.startIndex
        while i < scalars.endIndex {
            let s = scalars[i]
            let k = kind(s)
            switch k {
            case .word, .mark:
                // A mark continues a word but never starts one.
                if k == .mark && !inWord { break }
                if !inWord { start = i; inWord = true }
                if count < maxTermScalars {
                    let v = s.value
                    if v < 0x80 {
                        term.append(UInt8(v >= 0x41 && v <= 0x5A ? v + 32 : v))
                    } else {
                        ascii = false
                        term.append(contentsOf: s.properties.lowercaseMapping.utf8)
                    }
                }
                count += 1
            case .single:
                if inWord { finish(at: i) }
                start = i
                ascii = false
                term.append(contentsOf: s.properties.lowercaseMapping.utf8)
                let next = scalars.index(after: i)
                inWord = true
                finish(at: next)
            default:
                if inWord { finish(at: i) }
            }
            i = scalars.index(after: i)
        }
        if inWord { finish(at: scalars.endIndex) }
    }

    /// The tokens of `text` with their ranges (for snippets and highlights).
    public static func tokens(in text: String) -> [SearchToken] {
        var out: [SearchToken] = []
        scan(text) { term, start, end in out.append(SearchToken(term: term, range: start..<end)) }
        return out
    }

    /// The terms of `text` alone (for indexing and phrase checks).
    public static func terms(in text: String) -> [String] {
        var out: [String] = []
        scan(text) { term, _, _ in out.append(term) }
        return out
    }
}
