import Foundation
import Model

/// A tool's parameters: the JSON Schema `tools/list` shows, and the check `tools/call` applies
/// before anything runs (types, required names, no unknown names).
public struct ToolSchema: Sendable {
    public enum Kind: Sendable, Equatable {
        case string, integer, number, boolean
        case array(ItemKind)
        case messages  // [{"role": "user"|"assistant"|"system", "content": string}]
    }
    public enum ItemKind: String, Sendable, Equatable { case string, integer, number }

    public struct Parameter: Sendable {
        public var name: String
        public var kind: Kind
        public var description: String
        public var required: Bool
    }

    public var parameters: [Parameter]

    public init(_ parameters: [Parameter]) { self.parameters = parameters }

    public var json: [String: Any] {
        var properties: [String: Any] = [:]
        for p in parameters {
            var s: [String: Any] = ["description": p.description]
            switch p.kind {
            case .string: s["type"] = "string"
            case .integer: s["type"] = "integer"
            case .number: s["type"] = "number"
            case .boolean: s["type"] = "boolean"
            case .array(let item): s["type"] = "array"; s["items"] = ["type": item.rawValue]
            case .messages:
                s["type"] = "array"
                s["items"] = ["type": "object", "required": ["role", "content"], "additionalProperties": false,
                              "properties": ["role": ["type": "string", "enum": ["system", "user", "assistant"]],
                                             "content": ["type": "string"]]]
            }
            properties[p.name] = s
        }
        return ["type": "object", "properties": properties, "required": parameters.filter(\.required).map(\.name),
                "additionalProperties": false]
    }

    /// What is wrong with `arguments`, or nil.
    public func problem(with arguments: [String: Any]) -> String? {
        let known = Set(parameters.map(\.name))
        if let extra = arguments.keys.sorted().first(where: { !known.contains($0) }) {
            return "unknown argument \"\(UntrustedText.excerpt(extra, limit: 60))\" (takes: \(parameters.map(\.name).joined(separator: ", ")))"
        }
        for p in parameters {
            guard let value = arguments[p.name], !(value is NSNull) else {
                if p.required { return "missing required argument \"\(p.name)\"" }
                continue
            }
            if let why = Self.check(value, p.kind) { return "argument \"\(p.name)\" \(why)" }
        }
        return nil
    }

    /// JSONSerialization gives true and false as NSNumbers of type char ("c"), numbers as others.
    static func isBoolean(_ v: Any) -> Bool { (v as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false }
    static func isNumber(_ v: Any) -> Bool { v is NSNumber && !isBoolean(v) }

    static func check(_ value: Any, _ kind: Kind) -> String? {
        switch kind {
        case .string: return value is String ? nil : "must be a string"
        case .boolean: return isBoolean(value) ? nil : "must be true or false"
        case .number: return isNumber(value) ? nil : "must be a number"
        case .integer:
            guard isNumber(value), let d = (value as? NSNumber)?.doubleValue, d == d.rounded(), abs(d) < 9e15 else { return "must be an integer" }
            return nil
        case .array(let item):
            guard let list = value as? [Any] else { return "must be a list" }
            for v in list {
                if let why = check(v, item == .string ? .string : item == .integer ? .integer : .number) { return "has an item that \(why.dropFirst(5))" }
            }
            return nil
        case .messages:
            guard let list = value as? [Any] else { return "must be a list of {role, content} messages" }
            for (i, m) in list.enumerated() {
                guard let d = m as? [String: Any], let role = d["role"] as? String, d["content"] is String,
                      ["system", "user", "assistant"].contains(role), d.count == 2 else {
                    return "item \(i) must be {\"role\": \"system\"|\"user\"|\"assistant\", \"content\": string}"
                }
            }
            return nil
        }
    }
}

extension ToolSchema.Parameter {
    static func string(_ name: String, _ description: String, required: Bool = true) -> Self {
        .init(name: name, kind: .string, description: description, required: required)
    }
    static func integer(_ name: String, _ description: String, required: Bool = false) -> Self {
        .init(name: name, kind: .integer, description: description, required: required)
    }
    static func number(_ name: String, _ description: String, required: Bool = false) -> Self {
        .init(name: name, kind: .number, description: description, required: required)
    }
}
