import Foundation

/// The one gate between untrusted text (model output, file metadata, corpus text) and the
/// terminal: no escape sequence or control character passes through raw.
public enum TerminalText {
    /// Keeps printable text, newlines and tabs; shows C0 controls as their control pictures
    /// (ESC as ␛), DEL as ␡, C1 controls and bidirectional overrides as <U+XXXX>.
    ///
    /// Linear in the text. It used to build its result in a `String.UnicodeScalarView` and add each
    /// `<U+XXXX>` with `append(contentsOf:)`, which for that view is RangeReplaceableCollection's
    /// `replaceSubrange(endIndex..<endIndex, with:)`: it rebuilds the view, so each replacement
    /// cost the length written so far and a text of C1 controls took quadratic time (400k U+0085
    /// in a model name: over 120 s in `workbench models`). Now the result is UTF-8 bytes in an
    /// array (amortised O(1) appends), decoded once at the end.
    public static func sanitize(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x0A, 0x09:
                out.append(UInt8(v))
            case 0x00...0x1F:
                appendUTF8(Unicode.Scalar(0x2400 + v)!, to: &out)
            case 0x7F:
                appendUTF8(Unicode.Scalar(0x2421)!, to: &out)
            case 0x80...0x9F, 0x202A...0x202E, 0x2066...0x2069:
                out.append(contentsOf: [0x3C, 0x55, 0x2B])  // "<U+"
                appendHex(v, to: &out)
                out.append(0x3E)  // ">"
            default:
                appendUTF8(scalar, to: &out)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    private static func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
        let v = scalar.value
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (v >> 18)))
            out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// Upper-case hex without leading zeros, as String(v, radix: 16, uppercase: true) writes it.
    private static func appendHex(_ v: UInt32, to out: inout [UInt8]) {
        let digits: [UInt8] = [0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46]
        var shift: UInt32 = 28
        while shift > 0 && (v >> shift) == 0 { shift -= 4 }
        while true {
            out.append(digits[Int((v >> shift) & 0xF)])
            if shift == 0 { break }
            shift -= 4
        }
    }
}

extension TerminalText {
    /// JSON text (UTF-8, as JSONEncoder writes it) with every C1 control (U+0080–U+009F), DEL,
    /// line/paragraph separator (U+2028/U+2029) and bidirectional mark, embedding, override or
    /// isolate (U+200E/U+200F, U+202A–U+202E, U+2066–U+2069) written as a `\uXXXX` escape.
    /// JSONEncoder escapes C0 controls but passes these raw, so `workbench … --json | less` or a
    /// terminal showing the export could act on them or reorder the text. The escapes are lossless:
    /// any JSON parser reads back the exact text. Outside strings JSON is ASCII, so every such
    /// code point stands inside a string and the rewrite is safe byte by byte; one pass, linear.
    public static func escapingInvisibleControls(inJSON data: Data) -> Data {
        let bytes = [UInt8](data)
        // Fast path: none of the lead bytes involved (0x7F, 0xC2, 0xE2) occurs.
        guard bytes.contains(where: { $0 == 0x7F || $0 == 0xC2 || $0 == 0xE2 }) else { return data }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 64)
        func escape(_ v: UInt32) {
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [0x5C, 0x75])  // \u
            for shift in stride(from: 12, through: 0, by: -4) { out.append(hex[Int((v >> UInt32(shift)) & 0xF)]) }
        }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x7F {
                escape(0x7F)
                i += 1
                continue
            }
            if b == 0xC2, i + 1 < bytes.count, (0x80...0x9F).contains(bytes[i + 1]) {
                escape(UInt32(bytes[i + 1]))  // U+0080–U+009F
                i += 2
                continue
            }
            if b == 0xE2, i + 2 < bytes.count, bytes[i + 1] == 0x80 || bytes[i + 1] == 0x81 {
                let v = 0x2000 | (UInt32(bytes[i + 1] & 0x3F) << 6) | UInt32(bytes[i + 2] & 0x3F)
                if v == 0x200E || v == 0x200F || v == 0x2028 || v == 0x2029 || (0x202A...0x202E).contains(v)
                    || (0x2066...0x2069).contains(v)
                {
                    escape(v)
                    i += 3
                    continue
                }
            }
            out.append(b)
            i += 1
        }
        return Data(out)
    }
}
