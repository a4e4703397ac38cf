// AST and recursive-descent parser for the Jinja subset.
//
// Operator precedence follows jinja2's parser (lowest first):
//   `a if c else b` < or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary -
// and filters / tests / calls bind tightest, so `'x' + content | trim` is
// `'x' + (content | trim)` and `not x is defined` is `not (x is defined)`.

// MARK: - AST

struct JinjaArgument: Sendable {
    var name: String?  // nil for positional arguments
    var value: JinjaExpression
}

enum JinjaBinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//"
    case modulo = "%", power = "**"
}

enum JinjaComparisonOperator: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<="
    case greater = ">", greaterEqual = ">=", contains = "in", notContains = "not in"
}

indirect enum JinjaExpression: Sendable {
    case literal(JinjaValue)
    case name(String, JinjaSourceLocation)
    case list([JinjaExpression])
    case tuple([JinjaExpression])
    case dict([(key: JinjaExpression, value: JinjaExpression)])
    case attribute(JinjaExpression, String, JinjaSourceLocation)
    case item(JinjaExpression, JinjaExpression, JinjaSourceLocation)
    case slice(JinjaExpression, start: JinjaExpression?, stop: JinjaExpression?, step: JinjaExpression?, JinjaSourceLocation)
    case call(JinjaExpression, [JinjaArgument], JinjaSourceLocation)
    case filter(JinjaExpression, name: String, [JinjaArgument], JinjaSourceLocation)
    case test(JinjaExpression, name: String, [JinjaArgument], negated: Bool, JinjaSourceLocation)
    case negate(JinjaExpression, JinjaSourceLocation)
    case plus(JinjaExpression, JinjaSourceLocation)
    case not(JinjaExpression)
    case binary(JinjaBinaryOperator, JinjaExpression, JinjaExpression, JinjaSourceLocation)
    case concat([JinjaExpression])
    case compare(JinjaExpression, [(op: JinjaComparisonOperator, rhs: JinjaExpression)], JinjaSourceLocation)
    case and(JinjaExpression, JinjaExpression)
    case or(JinjaExpression, JinjaExpression)
    case conditional(then: JinjaExpression, condition: JinjaExpression, otherwise: JinjaExpression?)
}

enum JinjaAssignmentTarget: Sendable {
    case name(String)
    case attribute(String, String)  // `ns.attr`
    case tuple([String])
}

struct JinjaForLoop: Sendable {
    var targets: [String]
    var iterable: JinjaExpression
    var filter: JinjaExpression?
    var body: [JinjaStatement]
    var elseBody: [JinjaStatement]
    var location: JinjaSourceLocation
}

struct JinjaMacroParameter: Sendable {
    var name: String
    var defaultValue: JinjaExpression?
}

indirect enum JinjaStatement: Sendable {
    case text(String)
    case output(JinjaExpression)
    case conditional(branches: [(condition: JinjaExpression, body: [JinjaStatement])], otherwise: [JinjaStatement])
    case forLoop(JinjaForLoop)
    case set(JinjaAssignmentTarget, JinjaExpression, JinjaSourceLocation)
    case setBlock(JinjaAssignmentTarget, [JinjaStatement], JinjaSourceLocation)
    case macro(JinjaMacro)
    case breakLoop
    case continueLoop
}

// MARK: - Parser

struct JinjaParser {
    private var tokens: [JinjaToken]
    private var index = 0
    /// How deep the tree being built is nested: blocks inside blocks, brackets, calls, unary
    /// operators, and each link of an operator, filter or attribute chain (`a + b + c` is a tree
    /// as deep as it is long). Bounded by `maxNesting`, so neither this recursive-descent parser
    /// nor the interpreter walking the tree (nor its deallocation) can exhaust the stack.
    private var depth = 0
    private let maxNesting: Int

    init(tokens: [JinjaToken], maxNesting: Int = ChatTemplateLimits.standard.nesting) {
        self.tokens = tokens
        self.maxNesting = maxNesting
    }

    static func parse(_ source: String, limits: ChatTemplateLimits = .standard) throws -> [JinjaStatement] {
        var lexer = JinjaLexer(source: source)
        var parser = JinjaParser(tokens: try lexer.tokenize(), maxNesting: limits.nesting)
        let (body, _) = try parser.parseBody(until: [], opener: nil)
        return body
    }

    /// One level deeper; the caller undoes it (`depth -= 1`) when the level is finished.
    private mutating func nest() throws {
        depth += 1
        if depth > maxNesting { throw error("chat template: nesting deeper than \(maxNesting)") }
    }

    // MARK: JinjaToken helpers

    private var current: JinjaToken { tokens[index] }
    private var location: JinjaSourceLocation { current.location }

    private func peekKind(_ offset: Int = 1) -> JinjaTokenKind {
        let i = index + offset
        return i < tokens.count ? tokens[i].kind : .end
    }

    private mutating func advance() { if index < tokens.count - 1 { index += 1 } }

    private func isOp(_ op: String) -> Bool { current.kind == .op(op) }
    private func isName(_ name: String) -> Bool { current.kind == .name(name) }

    private func error(_ message: String, at loc: JinjaSourceLocation? = nil) -> ChatTemplateError {
        ChatTemplateError(description: "\((loc ?? location)): \(message)")
    }

    private func describe(_ kind: JinjaTokenKind) -> String {
        switch kind {
        case .text: return "template text"
        case .outputOpen: return "'{{'"
        case .outputClose: return "'}}'"
        case .blockOpen: return "'{%'"
        case .blockClose: return "'%}'"
        case .name(let n): return "'\(UntrustedText.excerpt(n))'"
        case .string(let s): return UntrustedText.excerpt(JinjaText.stringRepr(UntrustedText.excerpt(s)))
        case .integer(let i): return "\(i)"
        case .float(let d): return JinjaText.floatRepr(d)
        case .op(let o): return "'\(o)'"
        case .end: return "end of template"
        }
    }

    private mutating func expectOp(_ op: String) throws {
        guard isOp(op) else { throw error("expected '\(op)' but found \(describe(current.kind))") }
        advance()
    }

    private mutating func expectName(_ name: String) throws {
        guard isName(name) else { throw error("expected '\(name)' but found \(describe(current.kind))") }
        advance()
    }

    private mutating func expectIdentifier() throws -> String {
        guard case .name(let n) = current.kind else {
            throw error("expected a name but found \(describe(current.kind))")
        }
        advance()
        return n
    }

    private mutating func expectBlockClose() throws {
        guard current.kind == .blockClose else {
            throw error("expected '%}' but found \(describe(current.kind))")
        }
        advance()
    }

    // MARK: Statements

    /// Parses statements until one of `endTags` opens a block tag. Returns the body and
    /// the end tag found (its name consumed, the rest of the tag not).
    private mutating func parseBody(
        until endTags: Set<String>, opener: (tag: String, location: JinjaSourceLocation)?
    ) throws -> ([JinjaStatement], String) {
        try nest()
        defer { depth -= 1 }
        var body: [JinjaStatement] = []
        while true {
            switch current.kind {
            case .end:
                if let opener {
                    let expected = endTags.sorted().map { "'\($0)'" }.joined(separator: " or ")
                    throw error(
                        "unclosed '\(opener.tag)' opened at \(opener.location); expected \(expected) before end of template",
                        at: opener.location)
                }
                return (body, "")
            case .text(let text):
                body.append(.text(text))
                advance()
            case .outputOpen:
                advance()
                let expr = try parseTupleOrExpression()
                guard current.kind == .outputClose else {
                    throw error("expected '}}' but found \(describe(current.kind))")
                }
                advance()
                body.append(.output(expr))
            case .blockOpen:
                let tagLocation = location
                advance()
                guard case .name(let keyword) = current.kind else {
                    throw error("expected a statement name but found \(describe(current.kind))")
                }
                if endTags.contains(keyword) {
                    advance()
                    return (body, keyword)
                }
                if let opener, Self.closingTags.contains(keyword) {
                    let expected = endTags.sorted().map { "'\($0)'" }.joined(separator: " or ")
                    throw error(
                        "unexpected '\(UntrustedText.excerpt(keyword))': unclosed '\(opener.tag)' opened at \(opener.location) expects \(expected)",
                        at: tagLocation)
                }
                advance()
                if let statement = try parseStatement(keyword, at: tagLocation) {
                    body.append(statement)
                }
            default:
                throw error("unexpected \(describe(current.kind))")
            }
        }
    }

    private static let closingTags: Set<String> = [
        "elif", "else", "endif", "endfor", "endset", "endmacro", "endgeneration",
    ]

    private mutating func parseStatement(_ keyword: String, at loc: JinjaSourceLocation) throws -> JinjaStatement? {
        switch keyword {
        case "if": return try parseIf(at: loc)
        case "for": return try parseFor(at: loc)
        case "set": return try parseSet(at: loc)
        case "macro": return try parseMacro(at: loc)
        case "break":
            try expectBlockClose()
            return .breakLoop
        case "continue":
            try expectBlockClose()
            return .continueLoop
        case "generation":
            // transformers' AssistantTracker tag: only marks assistant spans, renders its body.
            try expectBlockClose()
            let (body, _) = try parseBody(until: ["endgeneration"], opener: ("generation", loc))
            try expectBlockClose()
            return .conditional(branches: [(.literal(.bool(true)), body)], otherwise: [])
        case "elif", "else", "endif", "endfor", "endset", "endmacro", "endgeneration":
            throw error("unexpected '\(keyword)' with no matching opening tag", at: loc)
        default:
            throw error("unknown or unsupported tag '\(UntrustedText.excerpt(keyword))'", at: loc)
        }
    }

    private mutating func parseIf(at loc: JinjaSourceLocation) throws -> JinjaStatement {
        var branches: [(condition: JinjaExpression, body: [JinjaStatement])] = []
        var otherwise: [JinjaStatement] = []
        var condition = try parseExpression()
        try expectBlockClose()
        while true {
            let (body, end) = try parseBody(until: ["elif", "else", "endif"], opener: ("if", loc))
            branches.append((condition, body))
            if end == "elif" {
                condition = try parseExpression()
                try expectBlockClose()
                continue
            }
            if end == "else" {
                try expectBlockClose()
                (otherwise, _) = try parseBody(until: ["endif"], opener: ("if", loc))
            }
            try expectBlockClose()
            return .conditional(branches: branches, otherwise: otherwise)
        }
    }

    private mutating func parseFor(at loc: JinjaSourceLocation) throws -> JinjaStatement {
        var targets: [String] = []
        let parenthesised = isOp("(")
        if parenthesised { advance() }
        repeat {
            if isOp(",") { advance() }
            targets.append(try expectIdentifier())
        } while isOp(",")
        if parenthesised { try expectOp(")") }
        try expectName("in")
        // No ternary here: `for x in xs if cond` is a loop filter.
        var iterable = try parseOr()
        if isOp(",") {
            var items = [iterable]
            while isOp(",") {
                advance()
                items.append(try parseOr())
            }
            iterable = .tuple(items)
        }
        var filter: JinjaExpression? = nil
        if isName("if") {
            advance()
            filter = try parseOr()
        }
        if isName("recursive") { throw error("recursive loops are not supported") }
        try expectBlockClose()
        let (body, end) = try parseBody(until: ["else", "endfor"], opener: ("for", loc))
        var elseBody: [JinjaStatement] = []
        if end == "else" {
            try expectBlockClose()
            (elseBody, _) = try parseBody(until: ["endfor"], opener: ("for", loc))
        }
        try expectBlockClose()
        return .forLoop(
            JinjaForLoop(targets: targets, iterable: iterable, filter: filter, body: body, elseBody: elseBody, location: loc))
    }

    private mutating func parseSet(at loc: JinjaSourceLocation) throws -> JinjaStatement {
        let first = try expectIdentifier()
        var target = JinjaAssignmentTarget.name(first)
        if isOp(".") {
            advance()
            target = .attribute(first, try expectIdentifier())
        } else if isOp(",") {
            var names = [first]
            while isOp(",") {
                advance()
                names.append(try expectIdentifier())
            }
            target = .tuple(names)
        }
        if current.kind == .blockClose {
            advance()
            let (body, _) = try parseBody(until: ["endset"], opener: ("set", loc))
            try expectBlockClose()
            return .setBlock(target, body, loc)
        }
        try expectOp("=")
        let value = try parseTupleOrExpression()
        try expectBlockClose()
        return .set(target, value, loc)
    }

    private mutating func parseMacro(at loc: JinjaSourceLocation) throws -> JinjaStatement {
        let name = try expectIdentifier()
        try expectOp("(")
        var parameters: [JinjaMacroParameter] = []
        while !isOp(")") {
            let param = try expectIdentifier()
            var defaultValue: JinjaExpression? = nil
            if isOp("=") {
                advance()
                defaultValue = try parseExpression()
            }
            parameters.append(JinjaMacroParameter(name: param, defaultValue: defaultValue))
            if !isOp(")") { try expectOp(",") }
        }
        advance()
        try expectBlockClose()
        let (body, _) = try parseBody(until: ["endmacro"], opener: ("macro", loc))
        if case .name = current.kind { advance() }  // `{% endmacro name %}`
        try expectBlockClose()
        return .macro(JinjaMacro(name: name, parameters: parameters, body: body))
    }

    // MARK: Expressions

    /// `a, b` without parentheses is a tuple (as in `{% set a = 1, 2 %}`).
    private mutating func parseTupleOrExpression() throws -> JinjaExpression {
        let first = try parseExpression()
        guard isOp(",") else { return first }
        var items = [first]
        while isOp(",") {
            advance()
            if current.kind == .blockClose || current.kind == .outputClose { break }
            items.append(try parseExpression())
        }
        return .tuple(items)
    }

    mutating func parseExpression() throws -> JinjaExpression {
        try nest()
        var links = 1
        defer { depth -= links }
        var expr = try parseOr()
        while isName("if") {
            try nest()
            links += 1
            advance()
            let condition = try parseOr()
            var otherwise: JinjaExpression? = nil
            if isName("else") {
                advance()
                otherwise = try parseExpression()
            }
            expr = .conditional(then: expr, condition: condition, otherwise: otherwise)
        }
        return expr
    }

    private mutating func parseOr() throws -> JinjaExpression {
        var left = try parseAnd()
        var links = 0
        defer { depth -= links }
        while isName("or") {
            try nest()
            links += 1
            advance()
            left = .or(left, try parseAnd())
        }
        return left
    }

    private mutating func parseAnd() throws -> JinjaExpression {
        var left = try parseNot()
        var links = 0
        defer { depth -= links }
        while isName("and") {
            try nest()
            links += 1
            advance()
            left = .and(left, try parseNot())
        }
        return left
    }

    private mutating func parseNot() throws -> JinjaExpression {
        if isName("not") {
            try nest()
            defer { depth -= 1 }
            advance()
            return .not(try parseNot())
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> JinjaExpression {
        let loc = location
        let left = try parseAdditive()
        var chain: [(op: JinjaComparisonOperator, rhs: JinjaExpression)] = []
        while true {
            var op: JinjaComparisonOperator? = nil
            if case .op(let text) = current.kind, let cmp = JinjaComparisonOperator(rawValue: text),
                cmp != .contains, cmp != .notContains
            {
                op = cmp
                advance()
            } else if isName("in") {
                op = .contains
                advance()
            } else if isName("not"), peekKind() == .name("in") {
                op = .notContains
                advance()
                advance()
            }
            guard let op else { break }
            chain.append((op, try parseAdditive()))
        }
        return chain.isEmpty ? left : .compare(left, chain, loc)
    }

    private mutating func parseAdditive() throws -> JinjaExpression {
        var left = try parseConcat()
        var links = 0
        defer { depth -= links }
        while isOp("+") || isOp("-") {
            try nest()
            links += 1
            let loc = location
            let op: JinjaBinaryOperator = isOp("+") ? .add : .subtract
            advance()
            left = .binary(op, left, try parseConcat(), loc)
        }
        return left
    }

    private mutating func parseConcat() throws -> JinjaExpression {
        var parts = [try parseMultiplicative()]
        while isOp("~") {
            advance()
            parts.append(try parseMultiplicative())
        }
        return parts.count == 1 ? parts[0] : .concat(parts)
    }

    private mutating func parseMultiplicative() throws -> JinjaExpression {
        var left = try parsePower()
        var links = 0
        defer { depth -= links }
        while true {
            let loc = location
            let op: JinjaBinaryOperator
            if isOp("*") { op = .multiply } else if isOp("/") { op = .divide } else if isOp("//") {
                op = .floorDivide
            } else if isOp("%") { op = .modulo } else { break }
            try nest()
            links += 1
            advance()
            left = .binary(op, left, try parsePower(), loc)
        }
        return left
    }

    private mutating func parsePower() throws -> JinjaExpression {
        var left = try parseUnary(withFilters: true)
        var links = 0
        defer { depth -= links }
        while isOp("**") {
            try nest()
            links += 1
            let loc = location
            advance()
            left = .binary(.power, left, try parseUnary(withFilters: true), loc)
        }
        return left
    }

    private mutating func parseUnary(withFilters: Bool) throws -> JinjaExpression {
        let loc = location
        var expr: JinjaExpression
        if isOp("-") {
            try nest()
            defer { depth -= 1 }
            advance()
            expr = .negate(try parseUnary(withFilters: false), loc)
        } else if isOp("+") {
            try nest()
            defer { depth -= 1 }
            advance()
            expr = .plus(try parseUnary(withFilters: false), loc)
        } else {
            expr = try parsePrimary()
        }
        expr = try parsePostfix(expr)
        if withFilters { expr = try parseFiltersAndTests(expr) }
        return expr
    }

    private mutating func parsePrimary() throws -> JinjaExpression {
        let loc = location
        switch current.kind {
        case .name(let name):
            advance()
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(name, loc)
            }
        case .string(var text):
            advance()
            // Adjacent string literals concatenate, as in Python.
            while case .string(let more) = current.kind {
                text += more
                advance()
            }
            return .literal(.string(text))
        case .integer(let value):
            advance()
            return .literal(.int(value))
        case .float(let value):
            advance()
            return .literal(.double(value))
        case .op("("):
            advance()
            if isOp(")") {
                advance()
                return .tuple([])
            }
            let first = try parseExpression()
            if isOp(")") {
                advance()
                return first
            }
            var items = [first]
            while isOp(",") {
                advance()
                if isOp(")") { break }
                items.append(try parseExpression())
            }
            try expectOp(")")
            return .tuple(items)
        case .op("["):
            advance()
            var items: [JinjaExpression] = []
            while !isOp("]") {
                items.append(try parseExpression())
                if !isOp("]") { try expectOp(",") }
            }
            advance()
            return .list(items)
        case .op("{"):
            advance()
            var pairs: [(key: JinjaExpression, value: JinjaExpression)] = []
            while !isOp("}") {
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
                if !isOp("}") { try expectOp(",") }
            }
            advance()
            return .dict(pairs)
        default:
            throw error("unexpected \(describe(current.kind)) in expression")
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpression) throws -> JinjaExpression {
        var expr = base
        var links = 0
        defer { depth -= links }
        while true {
            let loc = location
            if isOp(".") || isOp("[") || isOp("(") {
                try nest()
                links += 1
            }
            if isOp(".") {
                advance()
                switch current.kind {
                case .name(let attr):
                    advance()
                    expr = .attribute(expr, attr, loc)
                case .integer(let i):
                    advance()
                    expr = .item(expr, .literal(.int(i)), loc)
                default:
                    throw error("expected an attribute name after '.' but found \(describe(current.kind))")
                }
            } else if isOp("[") {
                advance()
                expr = try parseSubscript(expr, at: loc)
            } else if isOp("(") {
                expr = .call(expr, try parseArguments(), loc)
            } else {
                return expr
            }
        }
    }

    private mutating func parseSubscript(_ base: JinjaExpression, at loc: JinjaSourceLocation) throws -> JinjaExpression {
        var start: JinjaExpression? = nil
        if !isOp(":") { start = try parseExpression() }
        guard isOp(":") else {
            try expectOp("]")
            return .item(base, start!, loc)
        }
        advance()
        var stop: JinjaExpression? = nil
        var step: JinjaExpression? = nil
        if !isOp(":") && !isOp("]") { stop = try parseExpression() }
        if isOp(":") {
            advance()
            if !isOp("]") { step = try parseExpression() }
        }
        try expectOp("]")
        return .slice(base, start: start, stop: stop, step: step, loc)
    }

    /// `( positional..., name=value... )`; the current token is the opening parenthesis.
    private mutating func parseArguments() throws -> [JinjaArgument] {
        try expectOp("(")
        var args: [JinjaArgument] = []
        while !isOp(")") {
            if case .name(let name) = current.kind, peekKind() == .op("=") {
                advance()
                advance()
                args.append(JinjaArgument(name: name, value: try parseExpression()))
            } else {
                args.append(JinjaArgument(name: nil, value: try parseExpression()))
            }
            if !isOp(")") { try expectOp(",") }
        }
        advance()
        return args
    }

    private mutating func parseFiltersAndTests(_ base: JinjaExpression) throws -> JinjaExpression {
        var expr = base
        var links = 0
        defer { depth -= links }
        while true {
            let loc = location
            if isOp("|") || isName("is") || isOp("(") {
                try nest()
                links += 1
            }
            if isOp("|") {
                advance()
                let name = try expectIdentifier()
                let args = isOp("(") ? try parseArguments() : []
                expr = .filter(expr, name: name, args, loc)
            } else if isName("is") {
                advance()
                var negated = false
                if isName("not") {
                    negated = true
                    advance()
                }
                let name = try expectIdentifier()
                var args: [JinjaArgument] = []
                if isOp("(") {
                    args = try parseArguments()
                } else if startsTestArgument() {
                    // `x is divisibleby 3`, `x is sameas none`: one argument without parentheses.
                    args = [JinjaArgument(name: nil, value: try parsePostfix(try parsePrimary()))]
                }
                expr = .test(expr, name: name, args, negated: negated, loc)
            } else if isOp("(") {
                expr = .call(expr, try parseArguments(), loc)
            } else {
                return expr
            }
        }
    }

    private func startsTestArgument() -> Bool {
        switch current.kind {
        case .name(let n): return !["else", "or", "and", "if", "is", "in", "not"].contains(n)
        case .string, .integer, .float: return true
        case .op(let o): return o == "[" || o == "{"
        default: return false
        }
    }
}
