// Values manipulated by the chat-template interpreter.
//
// Chat templates are written against Python/Jinja2 semantics (they are rendered by
// `transformers` with jinja2), so the helpers here deliberately mirror Python:
// `str()` of `None` is "None", floats print like Python's `repr`, dicts keep insertion
// order, and `tojson` behaves like `json.dumps(ensure_ascii=False)`.

/// A value inside a Jinja template: either data passed in by the caller (see
/// `ChatTemplate.render(extra:)`) or something the template created while rendering.
///
/// Callers normally build only the data cases (`none` … `object`); the literal
/// conformances make that short: `["type": "function", "parameters": ["a": 1]]`.
public enum JinjaValue: Sendable, Equatable {
    /// A missing variable, key or attribute. Falsy, prints as "", iterates as empty.
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// A Python list (tuples are represented as arrays too).
    case array([JinjaValue])
    /// A Python dict with string keys; keeps insertion order like Python does.
    case object(JinjaObject)
    /// A mutable `namespace(...)` created by a template.
    case namespace(JinjaNamespace)
    /// A `{% macro %}` defined by a template.
    case macro(JinjaMacro)
    /// A built-in global function such as `raise_exception` or `range`.
    case function(JinjaFunction)
}

extension JinjaValue {
    /// How many containers (lists, dicts, namespaces) nest in this value, counted up to `limit`: a
    /// deeper value, or one that holds itself through a namespace, gives `limit`. The recursion
    /// never goes deeper than `limit`.
    func nestingDepth(limit: Int) -> Int {
        guard limit > 0 else { return 0 }
        func deepest<S: Sequence>(_ children: S) -> Int where S.Element == JinjaValue {
            var most = 0
            for child in children {
                most = max(most, child.nestingDepth(limit: limit - 1))
                if most + 1 >= limit { break }
            }
            return most + 1
        }
        switch self {
        case .array(let items): return deepest(items)
        case .object(let object): return deepest(object.values)
        case .namespace(let ns): return deepest(ns.attributes.values)
        default: return 0
        }
    }
}

/// An insertion-ordered string-keyed dictionary (Python `dict` semantics for the keys
/// chat templates use). Dictionary literals keep their written order.
public struct JinjaObject: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String] = []
    private var storage: [String: JinjaValue] = [:]

    public init() {}

    public init(_ pairs: [(String, JinjaValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public init(dictionaryLiteral elements: (String, JinjaValue)...) {
        self.init(elements)
    }

    public subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }
    /// The values, in no particular order.
    var values: Dictionary<String, JinjaValue>.Values { storage.values }

    /// Key/value pairs in insertion order.
    public var pairs: [(key: String, value: JinjaValue)] {
        keys.map { ($0, storage[$0]!) }
    }

    // Python dict equality ignores order.
    public static func == (lhs: JinjaObject, rhs: JinjaObject) -> Bool {
        lhs.storage == rhs.storage
    }
}

/// The mutable object returned by `namespace(...)`. Jinja scoping stops `{% set %}`
/// inside a loop from leaking out, so templates use a namespace (shared by reference)
/// to carry state across iterations.
///
/// `@unchecked Sendable`: a namespace is created and mutated only while a single
/// `render` call runs on one thread, and never escapes it (render returns a String).
public final class JinjaNamespace: @unchecked Sendable, Equatable {
    var attributes: JinjaObject

    init(_ attributes: JinjaObject) { self.attributes = attributes }

    public static func == (lhs: JinjaNamespace, rhs: JinjaNamespace) -> Bool { lhs === rhs }
}

/// A template-defined macro: parameter list with default expressions plus the body.
public struct JinjaMacro: Sendable, Equatable {
    let name: String
    let parameters: [JinjaMacroParameter]
    let body: [JinjaStatement]

    public static func == (lhs: JinjaMacro, rhs: JinjaMacro) -> Bool { lhs.name == rhs.name }
}

/// A built-in global callable, identified by name; the interpreter dispatches on it.
public struct JinjaFunction: Sendable, Equatable {
    let name: String
}

// MARK: - Literal conformances (for callers building `extra` values)

extension JinjaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JinjaValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JinjaValue)...) {
        self = .object(JinjaObject(elements))
    }
    public init(nilLiteral: ()) { self = .none }
}

/// Namespace for the Python-compatible text helpers (kept off the module's top level).
enum JinjaText {}

// MARK: - Python-like behaviour used by the interpreter

extension JinjaValue {
    /// Python truthiness; undefined is falsy as in Jinja.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .array(let a): return !a.isEmpty
        case .object(let o): return !o.isEmpty
        case .namespace, .macro, .function: return true
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// The Python type name, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .array: return "list"
        case .object: return "dict"
        case .namespace: return "Namespace"
        case .macro: return "Macro"
        case .function: return "builtin_function"
        }
    }

    /// The most bytes `pythonString` / `pythonRepr` write: a list holding itself a million times
    /// over (`[[s] * 1000] * 1000`) has a repr of terabytes, so printing stops here and the size
    /// checks of the interpreter (far below this) report it.
    static let reprCap = 64 << 20

    /// What `{{ value }}` prints: Python `str()`, with undefined printing nothing.
    var pythonString: String { pythonString(limit: JinjaValue.reprCap) }

    /// `pythonString`, stopping once more than `limit` bytes are written (the result is then
    /// longer than `limit`, and incomplete).
    func pythonString(limit: Int) -> String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return pythonRepr(limit: limit)
        }
    }

    /// Python `repr()`, used when containers are printed (`['a', 1, None]`).
    var pythonRepr: String { pythonRepr(limit: JinjaValue.reprCap) }

    func pythonRepr(limit: Int) -> String {
        var out = ""
        writeRepr(into: &out, limit: limit)
        return out
    }

    private func writeRepr(into out: inout String, limit: Int) {
        guard out.utf8.count <= limit else { return }
        switch self {
        case .undefined: break
        case .none: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let i): out += String(i)
        case .double(let d): out += JinjaText.floatRepr(d)
        case .string(let s): out += JinjaText.stringRepr(s)
        case .array(let a):
            out += "["
            for (i, item) in a.enumerated() {
                if out.utf8.count > limit { return }
                if i > 0 { out += ", " }
                item.writeRepr(into: &out, limit: limit)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, pair) in o.pairs.enumerated() {
                if out.utf8.count > limit { return }
                if i > 0 { out += ", " }
                out += JinjaText.stringRepr(pair.key) + ": "
                pair.value.writeRepr(into: &out, limit: limit)
            }
            out += "}"
        case .namespace: out += "<Namespace>"
        case .macro(let m): out += "<Macro '\(m.name)'>"
        case .function(let f): out += "<built-in function \(f.name)>"
        }
    }
}

extension JinjaText {
    /// Python `repr(float)`: shortest round-trip digits, exponent form outside [1e-4, 1e16).
    /// Swift's `description` already yields the shortest digits; only the layout differs.
    static func floatRepr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }

        var text = "\(value.magnitude)"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integerPart = String(parts[0])
        let fractionPart = parts.count > 1 ? String(parts[1]) : ""
        // value = 0.<digits> * 10^pointPosition
        var digits = Array(integerPart + fractionPart)
        var pointPosition = integerPart.count + exponent
        while digits.first == "0" && digits.count > 1 {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.last == "0" && digits.count > 1 { digits.removeLast() }

        let sign = value < 0 ? "-" : ""
        let decimalExponent = pointPosition - 1
        if decimalExponent < -4 || decimalExponent >= 16 {
            var mantissa = String(digits[0])
            if digits.count > 1 { mantissa += "." + String(digits[1...]) }
            let magnitude = abs(decimalExponent)
            let expText = magnitude < 10 ? "0\(magnitude)" : "\(magnitude)"
            return sign + mantissa + "e" + (decimalExponent < 0 ? "-" : "+") + expText
        }
        if pointPosition <= 0 {
            return sign + "0." + String(repeating: "0", count: -pointPosition) + String(digits)
        }
        if pointPosition >= digits.count {
            return sign + String(digits) + String(repeating: "0", count: pointPosition - digits.count) + ".0"
        }
        return sign + String(digits[..<pointPosition]) + "." + String(digits[pointPosition...])
    }

    /// Python `repr(str)`: single quotes unless the text contains a single quote and no double.
    static func stringRepr(_ s: String) -> String {
        let quote: Character = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += "\\x" + JinjaText.hex(scalar.value, width: 2)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append(quote)
        return out
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

// MARK: - JSON (transformers' `tojson`: json.dumps(ensure_ascii=False, ...))

struct JinjaJSONOptions {
    /// nil: single line. Otherwise the per-level indent text.
    var indent: String?
    var itemSeparator: String
    var keySeparator: String
    var sortKeys = false

    init(indent: String?, separators: (String, String)? = nil, sortKeys: Bool = false) {
        self.indent = indent
        // Python's defaults: (", ", ": ") on one line, (",", ": ") when indenting.
        let defaults = indent == nil ? (", ", ": ") : (",", ": ")
        (itemSeparator, keySeparator) = separators ?? defaults
        self.sortKeys = sortKeys
    }
}

extension JinjaValue {
    /// Serialises like Python's json.dumps. Returns nil for values JSON cannot hold.
    /// Stops (returning what it has, longer than `limit`) once more than `limit` bytes are written.
    func json(_ options: JinjaJSONOptions, limit: Int = JinjaValue.reprCap) -> String? {
        var out = ""
        return writeJSON(into: &out, options: options, depth: 0, limit: limit) ? out : nil
    }

    private func writeJSON(into out: inout String, options: JinjaJSONOptions, depth: Int, limit: Int) -> Bool {
        if out.utf8.count > limit { return true }
        switch self {
        case .undefined, .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else {
                out += JinjaText.floatRepr(d)
            }
        case .string(let s): out += JinjaText.jsonQuoted(s)
        case .array(let items):
            if items.isEmpty { out += "[]"; return true }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += options.itemSeparator }
                newline(&out, options, depth + 1)
                if out.utf8.count > limit { return true }
                if !item.writeJSON(into: &out, options: options, depth: depth + 1, limit: limit) { return false }
            }
            newline(&out, options, depth)
            out += "]"
        case .object(let object):
            if object.isEmpty { out += "{}"; return true }
            var pairs = object.pairs
            if options.sortKeys {
                pairs.sort { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
            }
            out += "{"
            for (i, pair) in pairs.enumerated() {
                if i > 0 { out += options.itemSeparator }
                newline(&out, options, depth + 1)
                out += JinjaText.jsonQuoted(pair.key) + options.keySeparator
                if out.utf8.count > limit { return true }
                if !pair.value.writeJSON(into: &out, options: options, depth: depth + 1, limit: limit) { return false }
            }
            newline(&out, options, depth)
            out += "}"
        case .namespace, .macro, .function:
            return false
        }
        return true
    }

    private func newline(_ out: inout String, _ options: JinjaJSONOptions, _ depth: Int) {
        guard let indent = options.indent else { return }
        out += "\n" + String(repeating: indent, count: depth)
    }
}

extension JinjaText {
    /// JSON string literal with ensure_ascii=False: only quotes, backslash and control
    /// characters are escaped.
    static func jsonQuoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + JinjaText.hex(scalar.value, width: 4)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
