import Foundation

extension FeatureContext {
    /// The context as one line: the tokens the feature fired on in «», the peak also with its
    /// value, newlines as ⏎.
    public var line: String {
        var s = ""
        for (i, token) in tokens.enumerated() {
            let shown = token.replacingOccurrences(of: "\n", with: "⏎")
            if i == peak {
                s += "«" + shown + "»" + String(format: "(%.2f)", activations[i])
            } else if activations[i] > 0 {
                s += "«" + shown + "»"
            } else {
                s += shown
            }
        }
        return s
    }
}
