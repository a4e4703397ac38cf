/// The one gate between untrusted text (model output, file metadata, corpus text) and the
/// terminal: no escape sequence or control character passes through raw.
public enum TerminalText {
    /// Keeps printable text, newlines and tabs; shows C0 controls as their control pictures
    /// (ESC as ␛), DEL as ␡, C1 controls and bidirectional overrides as <U+XXXX>.
    public static func sanitize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let v = scalar.value
            switch v {
            case 0x0A, 0x09:
                out.append(scalar)
            case 0x00...0x1F:
                out.append(Unicode.Scalar(0x2400 + v)!)
            case 0x7F:
                out.append(Unicode.Scalar(0x2421)!)
            case 0x80...0x9F, 0x202A...0x202E, 0x2066...0x2069:
                out.append(contentsOf: "<U+\(String(v, radix: 16, uppercase: true))>".unicodeScalars)
            default:
                out.append(scalar)
            }
        }
        return String(out)
    }
}
