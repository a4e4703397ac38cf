/// Quoting untrusted text (file metadata, tensor names, config values, template source) inside
/// an error message. A hostile or corrupt file can hold a key or a name millions of bytes long; an
/// error that quoted it whole would be megabytes long and, printed through the terminal
/// sanitizer, take seconds. Every error that interpolates text it did not write goes through
/// `UntrustedText.excerpt`, which keeps at most `limit` Unicode scalars and says how much it cut.
///
/// The excerpt is not sanitized: control characters stay (the terminal sanitizer shows them at
/// display), so the text an error quotes is the file's own, only shortened.
public enum UntrustedText {
    /// How many Unicode scalars an error quotes of one untrusted string.
    public static let defaultLimit = 200

    /// `text` itself when it has at most `limit` Unicode scalars; otherwise its first `limit`
    /// scalars followed by a marker naming what was cut: `abc…[+16777016 bytes cut]`.
    /// Costs O(limit), not O(text), for native strings.
    public static func excerpt<S: StringProtocol>(_ text: S, limit: Int = defaultLimit) -> String {
        let limit = max(0, limit)
        let scalars = text.unicodeScalars
        // Walk at most limit + 1 scalars: a short text is returned whole without counting it all.
        var end = scalars.startIndex
        var kept = 0
        while kept < limit, end != scalars.endIndex {
            scalars.formIndex(after: &end)
            kept += 1
        }
        if end == scalars.endIndex { return String(text) }
        var headScalars = String.UnicodeScalarView()
        headScalars.append(contentsOf: scalars[scalars.startIndex..<end])
        let head = String(headScalars)
        let cutBytes = text.utf8.count - head.utf8.count
        return head + "…[+\(cutBytes) bytes cut]"
    }

    /// `excerpt` of an arbitrary value's description (a JSON value, a list of names).
    public static func excerpt(describing value: Any, limit: Int = defaultLimit) -> String {
        excerpt(String(describing: value), limit: limit)
    }
}
