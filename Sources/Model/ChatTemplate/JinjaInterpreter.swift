// Tree-walking interpreter for parsed templates.
//
// Scoping follows jinja2: `{% set %}` writes to the innermost scope; every for-loop
// iteration gets a fresh scope (so sets inside a loop do not leak out, which is why
// templates use `namespace()`); `if` does not open a scope. Macros run in a scope that
// sees the globals and the template's top-level variables plus their arguments.
//
// Undefined handling is slightly more lenient than jinja2's default `Undefined`:
// attribute and item access on an undefined value yields undefined instead of raising,
// so a template probing optional fields still renders.

import Foundation

enum JinjaControlFlow {
    case normal, breakLoop, continueLoop
}

/// Evaluated call arguments: positional values plus keyword values in written order.
struct JinjaCallArguments {
    var positional: [JinjaValue] = []
    var keyword: [(name: String, value: JinjaValue)] = []

    /// The argument at `position`, or the keyword argument `name`.
    func get(_ position: Int, _ name: String) -> JinjaValue? {
        if position < positional.count { return positional[position] }
        return keyword.first { $0.name == name }?.value
    }

    func keyword(_ name: String) -> JinjaValue? { keyword.first { $0.name == name }?.value }
}

final class JinjaInterpreter {
    /// scopes[0]: globals and render context; scopes[1]: the template's top level.
    private var scopes: [[String: JinjaValue]]
    private var output = ""
    /// What `strftime_now` formats; nil is the current time.
    var now: time_t?

    // Limits (see ChatTemplateLimits). Every check is a counter or a size, so a hostile template
    // fails the same way on every machine; the clock is only the last resort.
    let limits: ChatTemplateLimits
    /// The most bytes of output or of any one string: the limit plus the render's allowance.
    let maxBytes: Int
    /// Nested evaluate/execute calls, bounding the stack in macro recursion.
    private var evaluationDepth = 0
    private let maxEvaluationDepth: Int
    private var callDepth = 0
    /// Loop iterations and per-item filter work so far.
    private var steps = 0
    private var clockChecks = 0
    private let deadline: UInt64
    /// How the byte limit reads in messages: "1 MiB", or "1 MiB + 12 bytes for the messages".
    let byteLimitText: String

    init(context: [String: JinjaValue], limits: ChatTemplateLimits = .standard, allowance: Int = 0) {
        scopes = [context, [:]]
        self.limits = limits
        let (bytes, overflow) = limits.outputBytes.addingReportingOverflow(max(0, allowance))
        maxBytes = overflow ? Int.max : bytes
        byteLimitText = JinjaText.byteSize(limits.outputBytes) + (allowance > 0 ? " + \(allowance) bytes for the messages" : "")
        maxEvaluationDepth = limits.nesting.multipliedReportingOverflow(by: 8).partialValue
        let budget = limits.seconds.isFinite && limits.seconds > 0 ? min(limits.seconds, 1e9) : 1e9
        deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(budget * 1e9)
    }

    func render(_ body: [JinjaStatement]) throws -> String {
        output = ""
        _ = try execute(body)
        return output
    }

    func error(_ message: String, _ loc: JinjaSourceLocation) -> ChatTemplateError {
        ChatTemplateError(description: "\(loc): \(message)")
    }

    // MARK: - Limits

    func limitError(_ message: String, _ loc: JinjaSourceLocation?) -> ChatTemplateError {
        let text = "chat template: " + message
        return ChatTemplateError(description: loc.map { "\($0): \(text)" } ?? text)
    }

    /// Charges `n` steps (loop iterations or per-item filter work) against the render's budget,
    /// and checks the clock.
    func spend(_ n: Int, _ loc: JinjaSourceLocation?) throws {
        steps = steps &+ max(0, n)
        if steps > limits.iterations || steps < 0 {
            throw limitError("more than \(limits.iterations) loop iterations", loc)
        }
        try checkClock(loc)
    }

    private func checkClock(_ loc: JinjaSourceLocation?) throws {
        if DispatchTime.now().uptimeNanoseconds > deadline {
            throw limitError("rendering took longer than \(JinjaText.formatSeconds(limits.seconds))", loc)
        }
    }

    /// Throws unless a string of `bytes` bytes fits (call before building it).
    func checkStringSize(_ bytes: Int, _ loc: JinjaSourceLocation?) throws {
        if bytes > maxBytes || bytes < 0 {
            throw limitError("a string exceeds \(byteLimitText)", loc)
        }
    }

    /// Throws unless a list of `count` items fits (call before building it).
    func checkListLength(_ count: Int, _ loc: JinjaSourceLocation?) throws {
        if count > limits.listLength || count < 0 {
            throw limitError("a list exceeds \(limits.listLength) items", loc)
        }
    }

    /// A value a filter, method or operator produced, checked against the size limits.
    func checked(_ value: JinjaValue, _ loc: JinjaSourceLocation?) throws -> JinjaValue {
        switch value {
        case .string(let s): try checkStringSize(s.utf8.count, loc)
        case .array(let a):
            try checkListLength(a.count, loc)
            try checkDepth(value, loc)
        case .object, .namespace: try checkDepth(value, loc)
        default: break
        }
        return value
    }

    /// Throws when a container the template built nests deeper than the limit.
    func checkDepth(_ value: JinjaValue, _ loc: JinjaSourceLocation?) throws {
        if value.nestingDepth(limit: limits.valueDepth + 1) > limits.valueDepth {
            throw limitError("a value nests deeper than \(limits.valueDepth) levels", loc)
        }
    }

    /// `value`'s `str()`, or an error when it would exceed the string limit.
    func str(_ value: JinjaValue, _ loc: JinjaSourceLocation?) throws -> String {
        let text = value.pythonString(limit: maxBytes)
        try checkStringSize(text.utf8.count, loc)
        return text
    }

    private func emit(_ text: String) throws {
        let (total, overflow) = output.utf8.count.addingReportingOverflow(text.utf8.count)
        if overflow || total > maxBytes {
            throw limitError("output exceeds \(byteLimitText)", nil)
        }
        output += text
    }

    /// Runs `body` one level deeper, bounding the stack.
    @inline(__always)
    private func deeper<T>(_ loc: JinjaSourceLocation?, _ body: () throws -> T) throws -> T {
        evaluationDepth += 1
        defer { evaluationDepth -= 1 }
        if evaluationDepth > maxEvaluationDepth {
            throw limitError("evaluation nested deeper than \(maxEvaluationDepth)", loc)
        }
        return try body()
    }

    // MARK: - Variables

    private func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let value = scope[name] { return value }
        }
        return .undefined
    }

    private func assign(_ name: String, _ value: JinjaValue) {
        scopes[scopes.count - 1][name] = value
    }

    // MARK: - Statements

    private func execute(_ statements: [JinjaStatement]) throws -> JinjaControlFlow {
        for statement in statements {
            let flow = try execute(statement)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ statement: JinjaStatement) throws -> JinjaControlFlow {
        try deeper(nil) { try executeStatement(statement) }
    }

    private func executeStatement(_ statement: JinjaStatement) throws -> JinjaControlFlow {
        clockChecks &+= 1
        if clockChecks & 63 == 0 { try checkClock(nil) }
        switch statement {
        case .text(let text):
            try emit(text)
        case .output(let expr):
            try emit(try str(try evaluate(expr), nil))
        case .conditional(let branches, let otherwise):
            for branch in branches where try evaluate(branch.condition).isTruthy {
                return try execute(branch.body)
            }
            return try execute(otherwise)
        case .forLoop(let loop):
            try executeFor(loop)
        case .set(let target, let expr, let loc):
            try assign(target, try evaluate(expr), loc)
        case .setBlock(let target, let body, let loc):
            let captured = try capture { _ = try execute(body) }
            try assign(target, .string(captured), loc)
        case .macro(let macro):
            assign(macro.name, .macro(macro))
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    /// Runs `body` with a fresh output buffer and returns what it wrote.
    private func capture(_ body: () throws -> Void) throws -> String {
        let saved = output
        output = ""
        defer { output = saved }
        try body()
        return output
    }

    private func assign(_ target: JinjaAssignmentTarget, _ value: JinjaValue, _ loc: JinjaSourceLocation) throws {
        switch target {
        case .name(let name):
            assign(name, value)
        case .attribute(let name, let attr):
            guard case .namespace(let ns) = lookup(name) else {
                throw error(
                    "cannot set attribute '\(UntrustedText.excerpt(attr))' on '\(UntrustedText.excerpt(name))': only namespace() objects support it", loc)
            }
            ns.attributes[attr] = value
        case .tuple(let names):
            let items = try unpack(value, count: names.count, loc)
            for (name, item) in zip(names, items) { assign(name, item) }
        }
    }

    private func unpack(_ value: JinjaValue, count: Int, _ loc: JinjaSourceLocation) throws -> [JinjaValue] {
        let items = try iterate(value, loc)
        guard items.count == count else {
            throw error("cannot unpack \(items.count) values into \(count) names", loc)
        }
        return items
    }

    private func executeFor(_ loop: JinjaForLoop) throws {
        let all = try iterate(try evaluate(loop.iterable), loop.location)

        func bind(_ item: JinjaValue, into scope: inout [String: JinjaValue]) throws {
            if loop.targets.count == 1 {
                scope[loop.targets[0]] = item
            } else {
                let parts = try unpack(item, count: loop.targets.count, loop.location)
                for (name, part) in zip(loop.targets, parts) { scope[name] = part }
            }
        }

        // The inline filter runs before `loop.*` is computed, as in jinja2.
        var items = all
        if let filter = loop.filter {
            items = []
            for item in all {
                try spend(1, loop.location)
                var scope: [String: JinjaValue] = [:]
                try bind(item, into: &scope)
                scopes.append(scope)
                defer { scopes.removeLast() }
                if try evaluate(filter).isTruthy { items.append(item) }
            }
        }

        if items.isEmpty {
            _ = try execute(loop.elseBody)
            return
        }
        let length = items.count
        for (index, item) in items.enumerated() {
            try spend(1, loop.location)
            var scope: [String: JinjaValue] = [:]
            try bind(item, into: &scope)
            var info = JinjaObject()
            info["index"] = .int(index + 1)
            info["index0"] = .int(index)
            info["revindex"] = .int(length - index)
            info["revindex0"] = .int(length - index - 1)
            info["first"] = .bool(index == 0)
            info["last"] = .bool(index == length - 1)
            info["length"] = .int(length)
            info["depth"] = .int(1)
            info["depth0"] = .int(0)
            if index > 0 { info["previtem"] = items[index - 1] }
            if index + 1 < length { info["nextitem"] = items[index + 1] }
            scope["loop"] = .object(info)
            scopes.append(scope)
            defer { scopes.removeLast() }
            if try execute(loop.body) == .breakLoop { break }
        }
    }

    // MARK: - Expressions

    func evaluate(_ expr: JinjaExpression) throws -> JinjaValue {
        try deeper(nil) { try evaluateExpression(expr) }
    }

    private func evaluateExpression(_ expr: JinjaExpression) throws -> JinjaValue {
        switch expr {
        case .literal(let value):
            return value
        case .name(let name, _):
            return lookup(name)
        case .list(let items), .tuple(let items):
            let value = JinjaValue.array(try items.map { try evaluate($0) })
            try checkDepth(value, nil)
            return value
        case .dict(let pairs):
            var object = JinjaObject()
            for pair in pairs {
                let key = try evaluate(pair.key)
                object[try str(key, nil)] = try evaluate(pair.value)
            }
            try checkDepth(.object(object), nil)
            return .object(object)
        case .attribute(let base, let name, _):
            return attribute(of: try evaluate(base), name)
        case .item(let base, let key, _):
            return item(of: try evaluate(base), try evaluate(key))
        case .slice(let base, let start, let stop, let step, let loc):
            return try slice(
                try evaluate(base), start: try start.map { try evaluate($0) },
                stop: try stop.map { try evaluate($0) }, step: try step.map { try evaluate($0) }, loc)
        case .call(let callee, let args, let loc):
            return try evaluateCall(callee, args, loc)
        case .filter(let base, let name, let args, let loc):
            return try checked(try applyFilter(name, try evaluate(base), try evaluateArguments(args), loc), loc)
        case .test(let base, let name, let args, let negated, let loc):
            let result = try applyTest(name, try evaluate(base), try evaluateArguments(args).positional, loc)
            return .bool(result != negated)
        case .negate(let operand, let loc):
            switch try evaluate(operand) {
            case .int(let i):
                guard i != Int.min else { throw limitError("integer overflow in unary -", loc) }
                return .int(-i)
            case .double(let d): return .double(-d)
            case .bool(let b): return .int(b ? -1 : 0)
            case let other: throw error("bad operand type for unary -: '\(other.typeName)'", loc)
            }
        case .plus(let operand, let loc):
            let value = try evaluate(operand)
            guard numeric(value) != nil else { throw error("bad operand type for unary +: '\(value.typeName)'", loc) }
            return value
        case .not(let operand):
            return .bool(!(try evaluate(operand).isTruthy))
        case .binary(let op, let lhs, let rhs, let loc):
            return try checked(try binary(op, try evaluate(lhs), try evaluate(rhs), loc), loc)
        case .concat(let parts):
            var text = ""
            for part in parts {
                let piece = try str(try evaluate(part), nil)
                try checkStringSize(text.utf8.count + piece.utf8.count, nil)
                text += piece
            }
            return .string(text)
        case .compare(let first, let chain, let loc):
            // Chained like Python: a < b < c means a < b and b < c.
            var left = try evaluate(first)
            for link in chain {
                let right = try evaluate(link.rhs)
                if !(try compare(link.op, left, right, loc)) { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .and(let lhs, let rhs):
            let left = try evaluate(lhs)
            return left.isTruthy ? try evaluate(rhs) : left
        case .or(let lhs, let rhs):
            let left = try evaluate(lhs)
            return left.isTruthy ? left : try evaluate(rhs)
        case .conditional(let then, let condition, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try otherwise.map { try evaluate($0) } ?? .undefined
        }
    }

    private func evaluateArguments(_ args: [JinjaArgument]) throws -> JinjaCallArguments {
        var result = JinjaCallArguments()
        for arg in args {
            let value = try evaluate(arg.value)
            if let name = arg.name {
                result.keyword.append((name, value))
            } else {
                result.positional.append(value)
            }
        }
        return result
    }

    /// Attribute access: dict keys and namespace attributes (methods are resolved at call).
    func attribute(of value: JinjaValue, _ name: String) -> JinjaValue {
        switch value {
        case .object(let object): return object[name] ?? .undefined
        case .namespace(let ns): return ns.attributes[name] ?? .undefined
        default: return .undefined
        }
    }

    /// Subscript access; missing keys and out-of-range indices give undefined like jinja2.
    func item(of value: JinjaValue, _ key: JinjaValue) -> JinjaValue {
        switch (value, key) {
        case (.object(let object), .string(let k)): return object[k] ?? .undefined
        case (.namespace(let ns), .string(let k)): return ns.attributes[k] ?? .undefined
        case (.array(let items), _):
            guard let i = integerIndex(key) else { return .undefined }
            let index = i < 0 ? i + items.count : i
            return items.indices.contains(index) ? items[index] : .undefined
        case (.string(let s), _):
            guard let i = integerIndex(key) else { return .undefined }
            let scalars = Array(s.unicodeScalars)
            let index = i < 0 ? i + scalars.count : i
            return scalars.indices.contains(index) ? .string(String(scalars[index])) : .undefined
        default:
            return .undefined
        }
    }

    private func integerIndex(_ key: JinjaValue) -> Int? {
        switch key {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    private func slice(
        _ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?, _ loc: JinjaSourceLocation
    ) throws -> JinjaValue {
        func bound(_ v: JinjaValue?) throws -> Int? {
            guard let v, !v.isUndefined, v != .none else { return nil }
            guard let i = integerIndex(v) else { throw error("slice indices must be integers or None", loc) }
            return i
        }
        let (a, b, c) = (try bound(start), try bound(stop), try bound(step))
        switch value {
        case .array(let items):
            return .array(try sliceIndices(items.count, a, b, c, loc).map { items[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try sliceIndices(scalars.count, a, b, c, loc) { out.append(scalars[i]) }
            return .string(String(out))
        case .undefined:
            return .undefined
        default:
            throw error("'\(value.typeName)' object is not subscriptable", loc)
        }
    }

    /// Python slice semantics (negative indices, clamping, negative steps).
    private func sliceIndices(_ count: Int, _ start: Int?, _ stop: Int?, _ step: Int?, _ loc: JinjaSourceLocation) throws
        -> [Int]
    {
        let step = step ?? 1
        guard step != 0 else { throw error("slice step cannot be zero", loc) }
        func clamp(_ i: Int, _ low: Int, _ high: Int) -> Int {
            let adjusted = i < 0 ? i + count : i
            return min(max(adjusted, low), high)
        }
        if step > 0 {
            let from = start.map { clamp($0, 0, count) } ?? 0
            let to = stop.map { clamp($0, 0, count) } ?? count
            return from < to ? Array(stride(from: from, to: to, by: step)) : []
        }
        let from = start.map { clamp($0, -1, count - 1) } ?? count - 1
        let to = stop.map { clamp($0, -1, count - 1) } ?? -1
        return from > to ? Array(stride(from: from, to: to, by: step)) : []
    }

    // MARK: - Calls

    private func evaluateCall(_ callee: JinjaExpression, _ args: [JinjaArgument], _ loc: JinjaSourceLocation) throws -> JinjaValue {
        if case .attribute(let baseExpr, let name, _) = callee {
            let base = try evaluate(baseExpr)
            let arguments = try evaluateArguments(args)
            if let result = try callMethod(base, name, arguments, loc) { return try checked(result, loc) }
            let member = attribute(of: base, name)
            if member.isUndefined {
                throw error("'\(base.typeName)' object has no method '\(UntrustedText.excerpt(name))'", loc)
            }
            return try call(member, arguments, name: name, loc)
        }
        let function = try evaluate(callee)
        var name = "object"
        if case .name(let n, _) = callee { name = n }
        return try call(function, try evaluateArguments(args), name: name, loc)
    }

    func call(_ function: JinjaValue, _ args: JinjaCallArguments, name: String, _ loc: JinjaSourceLocation) throws -> JinjaValue {
        switch function {
        case .macro(let macro): return try callMacro(macro, args, loc)
        case .function(let builtin): return try callBuiltin(builtin.name, args, loc)
        case .undefined: throw error("'\(UntrustedText.excerpt(name))' is undefined and cannot be called", loc)
        default: throw error("'\(function.typeName)' object is not callable", loc)
        }
    }

    private func callMacro(_ macro: JinjaMacro, _ args: JinjaCallArguments, _ loc: JinjaSourceLocation) throws -> JinjaValue {
        callDepth += 1
        defer { callDepth -= 1 }
        if callDepth > limits.callDepth {
            throw limitError("macro calls nested deeper than \(limits.callDepth) ('\(UntrustedText.excerpt(macro.name))')", loc)
        }
        let savedScopes = scopes
        defer { scopes = savedScopes }
        scopes = [savedScopes[0], savedScopes[1], [:]]
        for (i, parameter) in macro.parameters.enumerated() {
            if let value = args.get(i, parameter.name) {
                assign(parameter.name, value)
            } else if let defaultValue = parameter.defaultValue {
                assign(parameter.name, try evaluate(defaultValue))
            } else {
                assign(parameter.name, .undefined)
            }
        }
        return .string(try capture { _ = try execute(macro.body) })
    }

    // MARK: - Operators

    enum Number {
        case int(Int), double(Double)
        var asDouble: Double {
            switch self {
            case .int(let i): return Double(i)
            case .double(let d): return d
            }
        }
    }

    func numeric(_ value: JinjaValue) -> Number? {
        switch value {
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .bool(let b): return .int(b ? 1 : 0)
        default: return nil
        }
    }

    private func binary(_ op: JinjaBinaryOperator, _ lhs: JinjaValue, _ rhs: JinjaValue, _ loc: JinjaSourceLocation) throws
        -> JinjaValue
    {
        func unsupported() -> ChatTemplateError {
            if lhs.isUndefined || rhs.isUndefined {
                return error("undefined value used with '\(op.rawValue)'", loc)
            }
            return error(
                "unsupported operand type(s) for \(op.rawValue): '\(lhs.typeName)' and '\(rhs.typeName)'", loc)
        }
        switch (op, lhs, rhs) {
        case (.add, .string(let a), .string(let b)):
            try checkStringSize(a.utf8.count + b.utf8.count, loc)
            return .string(a + b)
        case (.add, .array(let a), .array(let b)):
            try checkListLength(a.count + b.count, loc)
            return .array(a + b)
        case (.multiply, .string(let s), _), (.multiply, _, .string(let s)):
            guard let n = integerIndex(lhs.isString ? rhs : lhs) else { throw unsupported() }
            let count = max(0, n)
            let (bytes, overflow) = s.utf8.count.multipliedReportingOverflow(by: count)
            try checkStringSize(overflow ? Int.max : bytes, loc)
            return .string(s.isEmpty ? "" : String(repeating: s, count: count))
        case (.multiply, .array(let a), _), (.multiply, _, .array(let a)):
            guard let n = integerIndex(lhs.isArray ? rhs : lhs) else { throw unsupported() }
            let count = max(0, n)
            let (items, overflow) = a.count.multipliedReportingOverflow(by: count)
            try checkListLength(overflow ? Int.max : items, loc)
            return .array(Array([[JinjaValue]](repeating: a, count: a.isEmpty ? 0 : count).joined()))
        case (.modulo, .string(let format), _):
            return .string(try percentFormat(format, rhs, loc))
        default:
            break
        }
        guard let a = numeric(lhs), let b = numeric(rhs) else { throw unsupported() }
        if case .int(let x) = a, case .int(let y) = b {
            return try integerArithmetic(op, x, y, loc)
        }
        let (x, y) = (a.asDouble, b.asDouble)
        switch op {
        case .add: return .double(x + y)
        case .subtract: return .double(x - y)
        case .multiply: return .double(x * y)
        case .divide:
            guard y != 0 else { throw error("division by zero", loc) }
            return .double(x / y)
        case .floorDivide:
            guard y != 0 else { throw error("division by zero", loc) }
            return .double((x / y).rounded(.down))
        case .modulo:
            guard y != 0 else { throw error("modulo by zero", loc) }
            let r = x.truncatingRemainder(dividingBy: y)
            return .double(r != 0 && (r < 0) != (y < 0) ? r + y : r)
        case .power:
            return .double(pow(x, y))
        }
    }

    private func integerArithmetic(_ op: JinjaBinaryOperator, _ x: Int, _ y: Int, _ loc: JinjaSourceLocation) throws
        -> JinjaValue
    {
        func checked(_ result: (partialValue: Int, overflow: Bool)) throws -> JinjaValue {
            guard !result.overflow else { throw limitError("integer overflow in '\(op.rawValue)'", loc) }
            return .int(result.partialValue)
        }
        switch op {
        case .add: return try checked(x.addingReportingOverflow(y))
        case .subtract: return try checked(x.subtractingReportingOverflow(y))
        case .multiply: return try checked(x.multipliedReportingOverflow(by: y))
        case .divide:
            guard y != 0 else { throw error("division by zero", loc) }
            return .double(Double(x) / Double(y))
        case .floorDivide, .modulo:
            guard y != 0 else { throw error(op == .modulo ? "modulo by zero" : "division by zero", loc) }
            // Int.min // -1 is the one quotient that does not fit (Python would give 2**63).
            guard !(x == Int.min && y == -1) else {
                if op == .modulo { return .int(0) }
                throw limitError("integer overflow in '\(op.rawValue)'", loc)
            }
            // Python rounds the quotient towards negative infinity.
            var q = x / y
            var r = x % y
            if r != 0 && (r < 0) != (y < 0) {
                q -= 1
                r += y
            }
            return .int(op == .modulo ? r : q)
        case .power:
            if y < 0 { return .double(pow(Double(x), Double(y))) }
            // By squaring: 1 ** 10**12 takes 40 steps, not 10**12.
            var result = 1
            var base = x
            var exponent = y
            while exponent > 0 {
                if exponent & 1 == 1 {
                    let (next, overflow) = result.multipliedReportingOverflow(by: base)
                    guard !overflow else { throw limitError("integer overflow in '**'", loc) }
                    result = next
                }
                exponent >>= 1
                if exponent > 0 {
                    let (square, overflow) = base.multipliedReportingOverflow(by: base)
                    guard !overflow else { throw limitError("integer overflow in '**'", loc) }
                    base = square
                }
            }
            return .int(result)
        }
    }

    /// Python `==`: numbers compare by value across int/float/bool.
    func equals(_ lhs: JinjaValue, _ rhs: JinjaValue) -> Bool {
        if let a = numeric(lhs), let b = numeric(rhs) {
            if case .int(let x) = a, case .int(let y) = b { return x == y }
            return a.asDouble == b.asDouble
        }
        switch (lhs, rhs) {
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { equals($0, $1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count
                && a.pairs.allSatisfy { pair in b[pair.key].map { equals(pair.value, $0) } ?? false }
        default:
            return lhs == rhs
        }
    }

    /// Python `<` for numbers, strings (by code point) and lists.
    func less(_ lhs: JinjaValue, _ rhs: JinjaValue, _ loc: JinjaSourceLocation) throws -> Bool {
        if let a = numeric(lhs), let b = numeric(rhs) {
            if case .int(let x) = a, case .int(let y) = b { return x < y }
            return a.asDouble < b.asDouble
        }
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)):
            return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
        case (.array(let a), .array(let b)):
            for (x, y) in zip(a, b) where !equals(x, y) { return try less(x, y, loc) }
            return a.count < b.count
        default:
            throw error("'<' not supported between instances of '\(lhs.typeName)' and '\(rhs.typeName)'", loc)
        }
    }

    private func compare(_ op: JinjaComparisonOperator, _ lhs: JinjaValue, _ rhs: JinjaValue, _ loc: JinjaSourceLocation)
        throws -> Bool
    {
        switch op {
        case .equal: return equals(lhs, rhs)
        case .notEqual: return !equals(lhs, rhs)
        case .less: return try less(lhs, rhs, loc)
        case .greater: return try less(rhs, lhs, loc)
        case .lessEqual: return try !less(rhs, lhs, loc)
        case .greaterEqual: return try !less(lhs, rhs, loc)
        case .contains: return try contains(rhs, lhs, loc)
        case .notContains: return try !contains(rhs, lhs, loc)
        }
    }

    func contains(_ container: JinjaValue, _ element: JinjaValue, _ loc: JinjaSourceLocation) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let needle) = element else {
                throw error("'in <string>' requires string as left operand, not \(element.typeName)", loc)
            }
            return JinjaText.find(Array(s.unicodeScalars), Array(needle.unicodeScalars), from: 0) != nil
        case .array(let items): return items.contains { equals($0, element) }
        case .object(let object):
            guard case .string(let key) = element else { return false }
            return object[key] != nil
        case .namespace(let ns):
            guard case .string(let key) = element else { return false }
            return ns.attributes[key] != nil
        case .undefined: return false
        default:
            throw error("argument of type '\(container.typeName)' is not iterable", loc)
        }
    }

    /// The items a for-loop (or list()) sees: list items, dict keys, string characters.
    func iterate(_ value: JinjaValue, _ loc: JinjaSourceLocation) throws -> [JinjaValue] {
        switch value {
        case .array(let items): return items
        case .object(let object): return object.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw error("'\(value.typeName)' object is not iterable", loc)
        }
    }

    /// Python `%` string formatting: %s %r %d %i %f %% with an optional precision.
    private func percentFormat(_ format: String, _ args: JinjaValue, _ loc: JinjaSourceLocation) throws -> String {
        var values: [JinjaValue]
        if case .array(let items) = args { values = items } else { values = [args] }
        var out = ""
        let scalars = Array(format.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            i += 1
            guard c == "%" else {
                out.unicodeScalars.append(c)
                continue
            }
            var precision: Int? = nil
            if i < scalars.count, scalars[i] == "." {
                i += 1
                var digits = ""
                while i < scalars.count, ("0"..."9").contains(scalars[i]) {
                    digits.unicodeScalars.append(scalars[i])
                    i += 1
                }
                precision = digits.isEmpty ? 0 : (Int(digits) ?? Int.max)
                if precision! > 1000 { throw limitError("%f precision above 1000", loc) }
            }
            guard i < scalars.count else { throw error("incomplete format", loc) }
            let spec = scalars[i]
            i += 1
            if spec == "%" {
                out += "%"
                continue
            }
            guard !values.isEmpty else { throw error("not enough arguments for format string", loc) }
            let value = values.removeFirst()
            switch spec {
            case "s": out += value.pythonString(limit: maxBytes)
            case "r": out += value.pythonRepr(limit: maxBytes)
            case "d", "i":
                guard let n = numeric(value) else { throw error("%d format: a number is required", loc) }
                switch n {
                case .int(let x): out += String(x)
                case .double(let d):
                    guard d.isFinite else { throw error("cannot convert float \(JinjaText.floatRepr(d)) to integer", loc) }
                    out += Int(exactly: d.rounded(.towardZero)).map { String($0) }
                        ?? String(format: "%.0f", locale: nil, d.rounded(.towardZero))
                }
            case "f":
                guard let n = numeric(value) else { throw error("%f format: a number is required", loc) }
                out += JinjaText.formatFixed(n.asDouble, precision: precision ?? 6)
            default:
                throw error("unsupported format character '\(spec)'", loc)
            }
            try checkStringSize(out.utf8.count, loc)
        }
        return out
    }
}

extension JinjaValue {
    var isString: Bool {
        if case .string = self { return true }
        return false
    }

    var isArray: Bool {
        if case .array = self { return true }
        return false
    }
}

extension JinjaText {
    /// Fixed-point formatting without Foundation's locale handling.
    static func formatFixed(_ value: Double, precision: Int) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        // Beyond Int64 (or with many digits) the scaled value does not fit: use C's printf, which
        // prints the same digits as Python's '%f' (both are exact), without a locale.
        if value.magnitude >= 1e15 || precision > 15 {
            return String(format: "%.\(precision)f", locale: nil, value)
        }
        var scale = 1.0
        for _ in 0..<precision { scale *= 10 }
        let scaled = (value.magnitude * scale).rounded(.toNearestOrEven)
        let integerPart = (scaled / scale).rounded(.towardZero)
        var fraction = String(Int64(scaled - integerPart * scale))
        fraction = String(repeating: "0", count: max(0, precision - fraction.count)) + fraction
        let sign = value < 0 && scaled != 0 ? "-" : ""
        let whole = String(Int64(integerPart))
        return precision == 0 ? sign + whole : sign + whole + "." + fraction
    }

    /// Code-point substring search, Knuth–Morris–Pratt: linear in haystack + needle, where the
    /// naive search was their product (a megabyte of 'a' searched for half a megabyte of 'a' then
    /// 'b' took hours).
    static func find(_ haystack: [Unicode.Scalar], _ needle: [Unicode.Scalar], from start: Int) -> Int? {
        if needle.isEmpty { return start <= haystack.count ? start : nil }
        guard start >= 0, haystack.count - start >= needle.count else { return nil }
        if needle.count == 1 {
            let c = needle[0]
            var i = start
            while i < haystack.count {
                if haystack[i] == c { return i }
                i += 1
            }
            return nil
        }
        var failure = [Int](repeating: 0, count: needle.count)
        var k = 0
        for i in 1..<needle.count {
            while k > 0 && needle[i] != needle[k] { k = failure[k - 1] }
            if needle[i] == needle[k] { k += 1 }
            failure[i] = k
        }
        var matched = 0
        var i = start
        while i < haystack.count {
            while matched > 0 && haystack[i] != needle[matched] { matched = failure[matched - 1] }
            if haystack[i] == needle[matched] { matched += 1 }
            if matched == needle.count { return i - needle.count + 1 }
            i += 1
        }
        return nil
    }
}
