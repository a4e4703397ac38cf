// Built-in globals, filters, tests and methods, with Python/jinja2 semantics.
// Only what chat templates use is here; anything else is reported as an error at the
// point it is reached (not at parse time, so unused branches of a template that call
// something exotic do not stop the common path from rendering).

import Foundation

extension JinjaInterpreter {
    static let globalFunctions = ["raise_exception", "namespace", "range", "dict", "strftime_now"]

    // MARK: - Global functions

    func callBuiltin(_ name: String, _ args: JinjaCallArguments, _ loc: JinjaSourceLocation) throws -> JinjaValue {
        switch name {
        case "raise_exception":
            let message = args.get(0, "message")?.pythonString(limit: maxBytes) ?? "raise_exception called"
            throw error("raise_exception: \(UntrustedText.excerpt(message))", loc)
        case "namespace", "dict":
            var object = JinjaObject()
            for positional in args.positional {
                guard case .object(let initial) = positional else {
                    throw error("\(name)() positional argument must be a dict", loc)
                }
                for pair in initial.pairs { object[pair.key] = pair.value }
            }
            for pair in args.keyword { object[pair.name] = pair.value }
            try checkDepth(.object(object), loc)
            return name == "dict" ? .object(object) : .namespace(JinjaNamespace(object))
        case "range":
            let ints = try args.positional.map { value -> Int in
                guard case .int(let i) = value else { throw error("range() arguments must be integers", loc) }
                return i
            }
            let (start, stop, step): (Int, Int, Int)
            switch ints.count {
            case 1: (start, stop, step) = (0, ints[0], 1)
            case 2: (start, stop, step) = (ints[0], ints[1], 1)
            case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
            default: throw error("range() takes 1 to 3 arguments", loc)
            }
            guard step != 0 else { throw error("range() step must not be zero", loc) }
            // The length, without overflow: range(-2**63, 2**63 - 1) must not trap.
            let (span, overflow) = stop.subtractingReportingOverflow(start)
            let length: Int
            if overflow {
                length = Int.max
            } else if (span > 0) != (step > 0) || span == 0 {
                length = 0
            } else {
                let magnitude = span.magnitude, stepMagnitude = step.magnitude
                let count = (magnitude - 1) / stepMagnitude + 1
                length = count > UInt(Int.max) ? Int.max : Int(count)
            }
            guard length <= limits.listLength else {
                throw limitError("range() of \(length == Int.max ? "more than \(Int.max)" : String(length)) items exceeds \(limits.listLength)", loc)
            }
            return .array(stride(from: start, to: stop, by: step).map { .int($0) })
        case "strftime_now":
            // transformers exposes this so templates can print today's date.
            let format = args.get(0, "format")?.pythonString(limit: maxBytes) ?? "%Y-%m-%d"
            return .string(strftimeNow(format))
        default:
            throw error("unknown function '\(UntrustedText.excerpt(name))'", loc)
        }
    }

    private func strftimeNow(_ format: String) -> String {
        var now = self.now ?? time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 256)
        let length = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Filters

    func applyFilter(_ name: String, _ value: JinjaValue, _ args: JinjaCallArguments, _ loc: JinjaSourceLocation) throws
        -> JinjaValue
    {
        switch name {
        case "trim":
            return .string(JinjaText.strip(value.pythonString(limit: maxBytes), chars: args.get(0, "chars"), leading: true, trailing: true))
        case "upper": return .string(value.pythonString(limit: maxBytes).uppercased())
        case "lower": return .string(value.pythonString(limit: maxBytes).lowercased())
        case "capitalize": return .string(JinjaText.capitalize(value.pythonString(limit: maxBytes)))
        case "title": return .string(JinjaText.title(value.pythonString(limit: maxBytes)))
        case "length", "count":
            return .int(try length(of: value, loc))
        case "string": return .string(value.pythonString(limit: maxBytes))
        case "safe", "escape", "e", "forceescape":
            // No autoescaping in chat templates: escape only when explicitly requested.
            return name == "safe" ? value : .string(JinjaText.htmlEscape(value.pythonString(limit: maxBytes)))
        case "tojson":
            return .string(try toJSON(value, args, loc))
        case "first":
            return try iterate(value, loc).first ?? .undefined
        case "last":
            return try iterate(value, loc).last ?? .undefined
        case "join":
            let separator = args.get(0, "d")?.pythonString(limit: maxBytes) ?? ""
            var items = try iterate(value, loc)
            if let attr = args.get(1, "attribute") { items = items.map { self.attribute(of: $0, attr.pythonString(limit: maxBytes)) } }
            return .string(try join(items, separator: separator, loc))
        case "replace":
            let old = args.get(0, "old")?.pythonString(limit: maxBytes) ?? ""
            let new = args.get(1, "new")?.pythonString(limit: maxBytes) ?? ""
            var count = -1
            if case .int(let n)? = args.get(2, "count") { count = n }
            guard let replaced = JinjaText.replace(value.pythonString(limit: maxBytes), old, new, count: count, limit: maxBytes) else {
                throw limitError("a string exceeds \(byteLimitText)", loc)
            }
            return .string(replaced)
        case "default", "d":
            let fallback = args.get(0, "default_value") ?? .string("")
            let boolean = args.get(1, "boolean")?.isTruthy ?? false
            return value.isUndefined || (boolean && !value.isTruthy) ? fallback : value
        case "list":
            return .array(try iterate(value, loc))
        case "items":
            switch value {
            case .object(let object): return .array(object.pairs.map { .array([.string($0.key), $0.value]) })
            case .undefined: return .array([])
            default: throw error("items filter expects a mapping, got '\(value.typeName)'", loc)
            }
        case "dictsort":
            guard case .object(let object) = value else {
                throw error("dictsort filter expects a mapping, got '\(value.typeName)'", loc)
            }
            let reverse = args.get(2, "reverse")?.isTruthy ?? false
            let pairs = try sorted(object.pairs.map { JinjaValue.array([.string($0.key), $0.value]) }, loc) {
                self.item(of: $0, .int(0))
            }
            return .array(reverse ? pairs.reversed() : pairs)
        case "int":
            if let i = toInt(value) { return i }
            if integerTooLarge(value) { throw limitError("integer out of range (beyond ±2**63)", loc) }
            return args.get(0, "default") ?? .int(0)
        case "float":
            return toFloat(value) ?? args.get(0, "default") ?? .double(0)
        case "abs":
            switch value {
            case .int(let i):
                guard i != Int.min else { throw limitError("integer overflow in abs()", loc) }
                return .int(abs(i))
            case .double(let d): return .double(abs(d))
            default: throw error("bad operand type for abs(): '\(value.typeName)'", loc)
            }
        case "round":
            return try round(value, args, loc)
        case "reverse":
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .array(try iterate(value, loc).reversed())
        case "sort":
            let reverse = args.get(0, "reverse")?.isTruthy ?? false
            let caseSensitive = args.get(1, "case_sensitive")?.isTruthy ?? false
            let attr = args.get(2, "attribute")?.pythonString(limit: maxBytes)
            let result = try sorted(try iterate(value, loc), loc) { item in
                let key = attr.map { self.attribute(of: item, $0) } ?? item
                if !caseSensitive, case .string(let s) = key { return .string(s.lowercased()) }
                return key
            }
            return .array(reverse ? result.reversed() : result)
        case "unique":
            var seen: [JinjaValue] = []
            var result: [JinjaValue] = []
            let caseSensitive = args.get(0, "case_sensitive")?.isTruthy ?? false
            for item in try iterate(value, loc) {
                try spend(1 + seen.count / 64, loc)
                var key = args.get(1, "attribute").map { self.attribute(of: item, $0.pythonString(limit: maxBytes)) } ?? item
                if !caseSensitive, case .string(let s) = key { key = .string(s.lowercased()) }
                if !seen.contains(where: { self.equals($0, key) }) {
                    seen.append(key)
                    result.append(item)
                }
            }
            return .array(result)
        case "sum":
            var total: JinjaValue = args.get(1, "start") ?? .int(0)
            for item in try iterate(value, loc) {
                try spend(1, loc)
                let term = args.get(0, "attribute").map { self.attribute(of: item, $0.pythonString(limit: maxBytes)) } ?? item
                total = try evaluate(.binary(.add, .literal(total), .literal(term), loc))
            }
            return total
        case "min", "max":
            let items = try iterate(value, loc)
            guard var best = items.first else { return .undefined }
            for item in items.dropFirst() {
                let better = name == "min" ? try less(item, best, loc) : try less(best, item, loc)
                if better { best = item }
            }
            return best
        case "select", "reject":
            guard let test = args.positional.first?.pythonString(limit: maxBytes) else {
                return .array(try iterate(value, loc).filter { $0.isTruthy == (name == "select") })
            }
            let testArgs = Array(args.positional.dropFirst())
            return .array(
                try iterate(value, loc).filter { try applyTest(test, $0, testArgs, loc) == (name == "select") })
        case "selectattr", "rejectattr":
            guard let attr = args.positional.first?.pythonString(limit: maxBytes) else {
                throw error("\(name) requires an attribute name", loc)
            }
            let keep = name == "selectattr"
            return .array(
                try iterate(value, loc).filter { item in
                    let field = self.attribute(of: item, attr)
                    guard args.positional.count > 1 else { return field.isTruthy == keep }
                    let test = args.positional[1].pythonString(limit: maxBytes)
                    return try applyTest(test, field, Array(args.positional.dropFirst(2)), loc) == keep
                })
        case "map":
            let items = try iterate(value, loc)
            if let attr = args.keyword("attribute") {
                let fallback = args.keyword("default")
                return .array(
                    items.map { item in
                        let field = self.attribute(of: item, attr.pythonString(limit: maxBytes))
                        return field.isUndefined ? (fallback ?? field) : field
                    })
            }
            guard let filter = args.positional.first?.pythonString(limit: maxBytes) else {
                throw error("map requires a filter name or attribute=", loc)
            }
            let rest = JinjaCallArguments(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
            try spend(items.count, loc)
            return .array(try items.map { try checked(try applyFilter(filter, $0, rest, loc), loc) })
        case "attr":
            return attribute(of: value, args.get(0, "name")?.pythonString(limit: maxBytes) ?? "")
        case "indent":
            return .string(try indent(value.pythonString(limit: maxBytes), args, loc))
        case "format":
            let formatArgs: JinjaValue = .array(args.positional)
            return try evaluate(.binary(.modulo, .literal(.string(value.pythonString(limit: maxBytes))), .literal(formatArgs), loc))
        case "wordcount":
            return .int(JinjaText.split(value.pythonString(limit: maxBytes), separator: nil, maxSplit: -1).count)
        default:
            throw error("unknown filter '\(UntrustedText.excerpt(name))'", loc)
        }
    }

    /// `separator.join(str(item) for item in items)`, checking the size as it grows.
    private func join(_ items: [JinjaValue], separator: String, _ loc: JinjaSourceLocation) throws -> String {
        try spend(items.count, loc)
        var out = ""
        for (i, item) in items.enumerated() {
            let piece = item.pythonString(limit: maxBytes)
            try checkStringSize(out.utf8.count + (i > 0 ? separator.utf8.count : 0) + piece.utf8.count, loc)
            if i > 0 { out += separator }
            out += piece
        }
        return out
    }

    private func length(of value: JinjaValue, _ loc: JinjaSourceLocation) throws -> Int {
        switch value {
        case .string(let s): return s.unicodeScalars.count
        case .array(let a): return a.count
        case .object(let o): return o.count
        case .namespace(let ns): return ns.attributes.count
        case .undefined: return 0
        default: throw error("object of type '\(value.typeName)' has no len()", loc)
        }
    }

    private func toJSON(_ value: JinjaValue, _ args: JinjaCallArguments, _ loc: JinjaSourceLocation) throws -> String {
        var indent: String? = nil
        switch args.get(0, "indent") {
        case .int(let n)?:
            try checkStringSize(n, loc)
            indent = String(repeating: " ", count: max(0, n))
        case .string(let s)?: indent = s
        default: break
        }
        var separators: (String, String)? = nil
        if case .array(let pair)? = args.keyword("separators"), pair.count == 2 {
            separators = (pair[0].pythonString(limit: maxBytes), pair[1].pythonString(limit: maxBytes))
        }
        let sortKeys = args.keyword("sort_keys")?.isTruthy ?? false
        guard let json = value.json(JinjaJSONOptions(indent: indent, separators: separators, sortKeys: sortKeys), limit: maxBytes)
        else {
            throw error("object of type '\(value.typeName)' is not JSON serializable", loc)
        }
        try checkStringSize(json.utf8.count, loc)
        return json
    }

    private func toInt(_ value: JinjaValue) -> JinjaValue? {
        switch value {
        case .int: return value
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d): return Int(exactly: d.rounded(.towardZero)).map { .int($0) }
        case .string(let s):
            let text = JinjaText.strip(s, chars: nil, leading: true, trailing: true).replacingOccurrences(of: "_", with: "")
            if let i = Int(text) { return .int(i) }
            // Python's int() has no upper bound; ours is Int's range (`'9' * 23 | int` is an error).
            if let d = Double(text), d.isFinite { return Int(exactly: d.rounded(.towardZero)).map { .int($0) } }
            return nil
        default: return nil
        }
    }

    /// Whether `value` is a number (or numeric text) that Python would make an int of but Int cannot hold.
    private func integerTooLarge(_ value: JinjaValue) -> Bool {
        switch value {
        case .double(let d): return d.isFinite
        case .string(let s):
            let text = JinjaText.strip(s, chars: nil, leading: true, trailing: true).replacingOccurrences(of: "_", with: "")
            return Double(text).map { $0.isFinite } ?? false
        default: return false
        }
    }

    private func toFloat(_ value: JinjaValue) -> JinjaValue? {
        switch value {
        case .int(let i): return .double(Double(i))
        case .bool(let b): return .double(b ? 1 : 0)
        case .double: return value
        case .string(let s):
            return Double(JinjaText.strip(s, chars: nil, leading: true, trailing: true)).map { .double($0) }
        default: return nil
        }
    }

    private func round(_ value: JinjaValue, _ args: JinjaCallArguments, _ loc: JinjaSourceLocation) throws -> JinjaValue {
        var precision = 0
        if case .int(let p)? = args.get(0, "precision") { precision = p }
        let method = args.get(1, "method")?.pythonString(limit: maxBytes) ?? "common"
        let rule: FloatingPointRoundingRule
        switch method {
        case "common": rule = .toNearestOrEven  // Python's round()
        case "floor": rule = .down
        case "ceil": rule = .up
        default: throw error("round method must be 'common', 'ceil' or 'floor'", loc)
        }
        switch value {
        case .int where method == "common": return value
        case .int(let i): return .double(Double(i))
        case .double(let d):
            // Beyond 10**400 the scale is infinite either way; clamping keeps the loop short.
            // (Python: round(2.5, 10**18) is 2.5, round(2.5, -10**18) is 0.0.)
            if precision > 330 { return value }
            if precision < -330 { return .double(d.sign == .minus ? -0.0 : 0.0) }
            var scale = 1.0
            for _ in 0..<abs(precision) { scale *= 10 }
            if precision >= 0 { return .double((d * scale).rounded(rule) / scale) }
            return .double((d / scale).rounded(rule) * scale)
        default: throw error("round filter expects a number, got '\(value.typeName)'", loc)
        }
    }

    /// Stable sort by a key, using Python ordering.
    private func sorted(_ items: [JinjaValue], _ loc: JinjaSourceLocation, key: (JinjaValue) -> JinjaValue) throws
        -> [JinjaValue]
    {
        var failure: ChatTemplateError? = nil
        let keyed = items.enumerated().map { (offset: $0.offset, key: key($0.element), item: $0.element) }
        let result = keyed.sorted { a, b in
            do {
                if try less(a.key, b.key, loc) { return true }
                if try less(b.key, a.key, loc) { return false }
            } catch let e as ChatTemplateError {
                failure = failure ?? e
            } catch {}
            return a.offset < b.offset
        }
        if let failure { throw failure }
        return result.map(\.item)
    }

    /// jinja2's indent filter (including its handling of the first line and blank lines).
    private func indent(_ text: String, _ args: JinjaCallArguments, _ loc: JinjaSourceLocation) throws -> String {
        var prefix = "    "
        switch args.get(0, "width") {
        case .int(let n)?:
            try checkStringSize(n, loc)
            prefix = String(repeating: " ", count: max(0, n))
        case .string(let s)?: prefix = s
        default: break
        }
        let first = args.get(1, "first")?.isTruthy ?? false
        let blank = args.get(2, "blank")?.isTruthy ?? false
        let lines = JinjaText.splitLines(text + "\n")
        // Every line may get the prefix: check the size before building it.
        let (prefixes, overflow) = prefix.utf8.count.multipliedReportingOverflow(by: lines.count + 1)
        try checkStringSize(overflow ? Int.max : prefixes + text.utf8.count, loc)
        var result: String
        if blank {
            result = lines.joined(separator: "\n" + prefix)
        } else {
            result = lines.first ?? ""
            if lines.count > 1 {
                result += "\n" + lines.dropFirst().map { $0.isEmpty ? $0 : prefix + $0 }.joined(separator: "\n")
            }
        }
        return first ? prefix + result : result
    }

    // MARK: - Tests

    func applyTest(_ name: String, _ value: JinjaValue, _ args: [JinjaValue], _ loc: JinjaSourceLocation) throws -> Bool {
        func argument() throws -> JinjaValue {
            guard let a = args.first else { throw error("test '\(name)' needs an argument", loc) }
            return a
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value == .none
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": return value == .bool(true)
        case "false": return value == .bool(false)
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "number": return numeric(value) != nil
        case "string": return value.isString
        case "mapping":
            switch value {
            case .object: return true
            default: return false
            }
        case "iterable":
            switch value {
            case .array, .object, .string, .undefined: return true
            default: return false
            }
        case "sequence":
            switch value {
            case .array, .object, .string: return true
            default: return false
            }
        case "callable":
            switch value {
            case .macro, .function: return true
            default: return false
            }
        case "odd", "even", "divisibleby":
            guard case .int(let i)? = toInt(value), numeric(value) != nil else {
                throw error("test '\(name)' expects an integer, got '\(value.typeName)'", loc)
            }
            if name == "odd" { return i % 2 != 0 }
            if name == "even" { return i % 2 == 0 }
            guard case .int(let d)? = toInt(try argument()), d != 0 else {
                throw error("divisibleby needs a non-zero integer", loc)
            }
            return i % d == 0
        case "eq", "equalto", "==": return equals(value, try argument())
        case "ne", "!=": return !equals(value, try argument())
        case "lt", "lessthan", "<": return try less(value, try argument(), loc)
        case "gt", "greaterthan", ">": return try less(try argument(), value, loc)
        case "le", "<=": return try !less(try argument(), value, loc)
        case "ge", ">=": return try !less(value, try argument(), loc)
        case "in": return try contains(try argument(), value, loc)
        case "sameas": return value == (try argument())
        case "lower":
            return value.isString && value.pythonString(limit: maxBytes) == value.pythonString(limit: maxBytes).lowercased()
        case "upper":
            return value.isString && value.pythonString(limit: maxBytes) == value.pythonString(limit: maxBytes).uppercased()
        case "filter": return true  // only used as `x is filter` feature probes
        case "test": return true
        default: throw error("unknown test '\(UntrustedText.excerpt(name))'", loc)
        }
    }

    // MARK: - Methods

    /// Python methods on strings and dicts. Returns nil when `name` is not a method of
    /// the value, so the caller can fall back to calling an attribute.
    func callMethod(_ base: JinjaValue, _ name: String, _ args: JinjaCallArguments, _ loc: JinjaSourceLocation) throws
        -> JinjaValue?
    {
        switch base {
        case .string(let s): return try stringMethod(s, name, args, loc)
        case .object(let object):
            switch name {
            case "items": return .array(object.pairs.map { .array([.string($0.key), $0.value]) })
            case "keys": return .array(object.keys.map { .string($0) })
            case "values": return .array(object.pairs.map(\.value))
            case "get":
                guard let key = args.get(0, "key") else { throw error("get() needs a key", loc) }
                // dict.get returns None (not undefined) for a missing key.
                return object[key.pythonString(limit: maxBytes)] ?? args.get(1, "default") ?? JinjaValue.none
            default: return nil
            }
        case .array(let items):
            switch name {
            case "index":
                let target = args.get(0, "value") ?? .undefined
                guard let i = items.firstIndex(where: { equals($0, target) }) else {
                    throw error("value is not in list", loc)
                }
                return .int(i)
            case "count":
                let target = args.get(0, "value") ?? .undefined
                return .int(items.filter { equals($0, target) }.count)
            default: return nil
            }
        default:
            return nil
        }
    }

    private func stringMethod(_ s: String, _ name: String, _ args: JinjaCallArguments, _ loc: JinjaSourceLocation) throws
        -> JinjaValue?
    {
        func stringArg(_ i: Int, _ label: String) -> String? {
            guard let v = args.get(i, label), v != .none, !v.isUndefined else { return nil }
            return v.pythonString(limit: maxBytes)
        }
        switch name {
        case "strip", "lstrip", "rstrip":
            return .string(
                JinjaText.strip(s, chars: args.get(0, "chars"), leading: name != "rstrip", trailing: name != "lstrip"))
        case "split", "rsplit":
            var maxSplit = -1
            if case .int(let n)? = args.get(1, "maxsplit") { maxSplit = n }
            let parts =
                name == "split"
                ? JinjaText.split(s, separator: stringArg(0, "sep"), maxSplit: maxSplit)
                : JinjaText.rsplit(s, separator: stringArg(0, "sep"), maxSplit: maxSplit)
            return .array(parts.map { .string($0) })
        case "splitlines":
            return .array(JinjaText.splitLines(s).map { .string($0) })
        case "startswith", "endswith":
            let candidates: [JinjaValue]
            switch args.get(0, "prefix") {
            case .array(let items)?: candidates = items
            case let v?: candidates = [v]
            case nil: throw error("\(name)() needs an argument", loc)
            }
            let scalars = Array(s.unicodeScalars)
            return .bool(
                candidates.contains { candidate in
                    let affix = Array(candidate.pythonString(limit: maxBytes).unicodeScalars)
                    guard affix.count <= scalars.count else { return false }
                    return name == "startswith"
                        ? scalars.prefix(affix.count).elementsEqual(affix)
                        : scalars.suffix(affix.count).elementsEqual(affix)
                })
        case "upper": return .string(s.uppercased())
        case "lower": return .string(s.lowercased())
        case "title": return .string(JinjaText.title(s))
        case "capitalize": return .string(JinjaText.capitalize(s))
        case "replace":
            var count = -1
            if case .int(let n)? = args.get(2, "count") { count = n }
            guard let replaced = JinjaText.replace(s, stringArg(0, "old") ?? "", stringArg(1, "new") ?? "", count: count, limit: maxBytes)
            else { throw limitError("a string exceeds \(byteLimitText)", loc) }
            return .string(replaced)
        case "find":
            let index = JinjaText.find(Array(s.unicodeScalars), Array((stringArg(0, "sub") ?? "").unicodeScalars), from: 0)
            return .int(index ?? -1)
        case "count":
            return .int(JinjaText.split(s, separator: stringArg(0, "sub") ?? "", maxSplit: -1).count - 1)
        case "join":
            let items = try iterate(args.get(0, "iterable") ?? .array([]), loc)
            return .string(try join(items, separator: s, loc))
        case "isdigit":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal })
        case "isspace":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(JinjaText.isWhitespace))
        case "format":
            // Only positional `{}` / `{0}` placeholders.
            return .string(try braceFormat(s, args, loc))
        default:
            return nil
        }
    }

    private func braceFormat(_ format: String, _ args: JinjaCallArguments, _ loc: JinjaSourceLocation) throws -> String {
        var out = ""
        var nextIndex = 0
        var chars = format.makeIterator()
        while let c = chars.next() {
            if c == "{" {
                var field = ""
                var closed = false
                while let d = chars.next() {
                    if d == "{" && field.isEmpty {
                        out += "{"
                        closed = true
                        field = "{{"
                        break
                    }
                    if d == "}" {
                        closed = true
                        break
                    }
                    field.append(d)
                }
                guard closed else { throw error("unmatched '{' in format string", loc) }
                if field == "{{" { continue }
                let value: JinjaValue?
                if field.isEmpty {
                    value = args.get(nextIndex, "")
                    nextIndex += 1
                } else if let i = Int(field) {
                    value = args.get(i, "")
                } else {
                    value = args.keyword(field)
                }
                guard let value else { throw error("missing argument for '{\(UntrustedText.excerpt(field))}' in format()", loc) }
                let piece = value.pythonString(limit: maxBytes)
                try checkStringSize(out.utf8.count + piece.utf8.count, loc)
                out += piece
            } else if c == "}" {
                if let d = chars.next(), d != "}" { out.append(d) }
                out += "}"
            } else {
                out.append(c)
            }
        }
        return out
    }
}

extension JinjaText {
    // MARK: - Python string helpers (code-point based, like Python's str)

    static func strip(_ s: String, chars: JinjaValue?, leading: Bool, trailing: Bool) -> String {
        let scalars = Array(s.unicodeScalars)
        let strip: (Unicode.Scalar) -> Bool
        if let chars, chars != .none, !chars.isUndefined {
            let set = Set(chars.pythonString.unicodeScalars)
            strip = { set.contains($0) }
        } else {
            strip = isWhitespace
        }
        var start = 0
        var end = scalars.count
        if leading { while start < end && strip(scalars[start]) { start += 1 } }
        if trailing { while end > start && strip(scalars[end - 1]) { end -= 1 } }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[start..<end])
        return String(out)
    }

    private static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    /// str.split: with no separator, splits on whitespace runs and drops empty parts.
    static func split(_ s: String, separator: String?, maxSplit: Int) -> [String] {
        let scalars = Array(s.unicodeScalars)
        var parts: [String] = []
        guard let separator else {
            var i = 0
            while i < scalars.count {
                while i < scalars.count && JinjaText.isWhitespace(scalars[i]) { i += 1 }
                guard i < scalars.count else { break }
                if maxSplit >= 0 && parts.count == maxSplit {
                    var end = scalars.count
                    while end > i && JinjaText.isWhitespace(scalars[end - 1]) { end -= 1 }
                    parts.append(string(scalars[i..<end]))
                    break
                }
                let start = i
                while i < scalars.count && !JinjaText.isWhitespace(scalars[i]) { i += 1 }
                parts.append(string(scalars[start..<i]))
            }
            return parts
        }
        let sep = Array(separator.unicodeScalars)
        if sep.isEmpty { return [s] }
        var start = 0
        while maxSplit < 0 || parts.count < maxSplit, let found = JinjaText.find(scalars, sep, from: start) {
            parts.append(string(scalars[start..<found]))
            start = found + sep.count
        }
        parts.append(string(scalars[start...]))
        return parts
    }

    /// str.rsplit (only the explicit-separator form differs from split for maxsplit).
    static func rsplit(_ s: String, separator: String?, maxSplit: Int) -> [String] {
        if maxSplit < 0 { return JinjaText.split(s, separator: separator, maxSplit: -1) }
        let reversed = String(String.UnicodeScalarView(s.unicodeScalars.reversed()))
        let reversedSeparator = separator.map { String(String.UnicodeScalarView($0.unicodeScalars.reversed())) }
        return JinjaText.split(reversed, separator: reversedSeparator, maxSplit: maxSplit)
            .map { String(String.UnicodeScalarView($0.unicodeScalars.reversed())) }.reversed()
    }

    /// str.splitlines() for the common line boundaries.
    static func splitLines(_ s: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousCR = false
        for scalar in s.unicodeScalars {
            if scalar == "\n" && previousCR {
                previousCR = false
                continue
            }
            previousCR = scalar == "\r"
            if scalar == "\n" || scalar == "\r" || scalar == "\u{0B}" || scalar == "\u{0C}" || scalar == "\u{1C}"
                || scalar == "\u{1D}" || scalar == "\u{1E}" || scalar == "\u{85}" || scalar == "\u{2028}"
                || scalar == "\u{2029}"
            {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    /// str.replace(old, new, count); an empty `old` inserts `new` between code points.
    /// nil when the result would exceed `limit` UTF-8 bytes (checked as it grows, so
    /// `s | replace('', 'x' * 1000)` on a long `s` stops early instead of building gigabytes).
    static func replace(_ s: String, _ old: String, _ new: String, count: Int, limit: Int = Int.max) -> String? {
        let scalars = Array(s.unicodeScalars)
        let needle = Array(old.unicodeScalars)
        let newBytes = new.utf8.count
        var out = String.UnicodeScalarView()
        var bytes = 0
        var replaced = 0
        func add<C: Collection>(_ piece: C, _ pieceBytes: Int) -> Bool where C.Element == Unicode.Scalar {
            bytes += pieceBytes
            if bytes > limit { return false }
            out.append(contentsOf: piece)
            return true
        }
        func utf8Count(_ piece: ArraySlice<Unicode.Scalar>) -> Int {
            piece.reduce(0) { $0 + UTF8.width($1) }
        }
        if needle.isEmpty {
            for scalar in scalars {
                if count < 0 || replaced < count {
                    guard add(new.unicodeScalars, newBytes) else { return nil }
                    replaced += 1
                }
                guard add(CollectionOfOne(scalar), UTF8.width(scalar)) else { return nil }
            }
            if count < 0 || replaced < count { guard add(new.unicodeScalars, newBytes) else { return nil } }
            return String(out)
        }
        var start = 0
        while count < 0 || replaced < count, let found = JinjaText.find(scalars, needle, from: start) {
            guard add(scalars[start..<found], utf8Count(scalars[start..<found])) else { return nil }
            guard add(new.unicodeScalars, newBytes) else { return nil }
            start = found + needle.count
            replaced += 1
        }
        guard add(scalars[start...], utf8Count(scalars[start...])) else { return nil }
        return String(out)
    }

    /// "1 MiB", "64 KiB" or "1000 bytes", for limit messages.
    static func byteSize(_ n: Int) -> String {
        if n >= 1 << 20 && n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
        if n >= 1 << 10 && n % (1 << 10) == 0 { return "\(n >> 10) KiB" }
        return "\(n) bytes"
    }

    static func formatSeconds(_ s: Double) -> String {
        s == s.rounded() && s.magnitude < 1e9 ? "\(Int(s)) s" : "\(s) s"
    }

    /// str.capitalize: first character upper-cased, the rest lower-cased.
    static func capitalize(_ s: String) -> String {
        guard let first = s.first else { return s }
        return String(first).uppercased() + s.dropFirst().lowercased()
    }

    /// jinja2's title filter: words start after whitespace, '-', '(', '{', '[' or '<'.
    static func title(_ s: String) -> String {
        var out = ""
        var atWordStart = true
        for c in s {
            let isBoundary = c.isWhitespace || "-({[<".contains(c)
            if isBoundary {
                out.append(c)
                atWordStart = true
            } else {
                out += atWordStart ? String(c).uppercased() : String(c).lowercased()
                atWordStart = false
            }
        }
        return out
    }

    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
