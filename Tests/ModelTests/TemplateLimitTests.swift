import XCTest
import Model

/// Hostile chat templates (issue 14): each must fail with an error naming the limit it hit, in
/// process, never a stack overflow, a trap, a huge allocation or a hang. The limits checked are
/// counts and sizes, so these tests are deterministic (none measures time).
final class TemplateLimitTests: XCTestCase {
    private let user = [ChatMessage(role: "user", content: "hi")]

    /// The parse error of `source`, or a failure when it parses.
    private func parseError(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try ChatTemplate(source: source)
            XCTFail("template parsed", file: file, line: line)
            return ""
        } catch {
            return error.description
        }
    }

    /// The render error of `source` (which must parse), or a failure when it renders.
    private func renderError(_ source: String, limits: ChatTemplateLimits = .standard,
                             file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let template = try ChatTemplate(source: source, limits: limits)
            let out = try template.render(messages: user, addGenerationPrompt: true)
            XCTFail("template rendered \(out.utf8.count) bytes", file: file, line: line)
            return ""
        } catch let error as ChatTemplateError {
            return error.description
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
            return ""
        }
    }

    private func render(_ source: String) throws -> String {
        try ChatTemplate(source: source).render(messages: user, addGenerationPrompt: true)
    }

    private func assertMentions(_ message: String, _ needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(message.contains(needle), "\(message.prefix(300)) does not mention \(needle)", file: file, line: line)
        XCTAssertLessThan(message.utf8.count, 1000, "error too long", file: file, line: line)
    }

    // MARK: - Value depth

    /// Nesting built at render time, not in the source: each would overflow the stack when the
    /// value is freed, compared or printed (the fuzz target found the first one).
    func testValuesNestedInALoopStopAtTheDepthLimit() {
        for source in [
            "{% set ns = namespace(v=[]) %}{% for i in range(100000) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v | length }}",
            "{% set ns = namespace(v={}) %}{% for i in range(100000) %}{% set ns.v = {'a': ns.v} %}{% endfor %}x",
            "{% set ns = namespace(cur=none) %}{% for i in range(100000) %}{% set ns.cur = namespace(n=ns.cur) %}{% endfor %}x",
            "{% set ns = namespace(v=[1]) %}{% for i in range(100000) %}{% set ns.v = (ns.v, 1) %}{% endfor %}x",
        ] {
            assertMentions(renderError(source), "a value nests deeper than 64 levels")
        }
    }

    func testANamespaceHoldingItselfIsTooDeepWhenWrapped() {
        assertMentions(renderError("{% set ns = namespace(me=none) %}{% set ns.me = ns %}{{ [ns] | length }}"),
                       "a value nests deeper than 64 levels")
    }

    func testValuesUpToTheDepthLimitRender() throws {
        var limits = ChatTemplateLimits.standard
        limits.valueDepth = 5
        let four = "{{ [[[[1]]]] | length }}"
        XCTAssertEqual(try ChatTemplate(source: four, limits: limits).render(messages: user, addGenerationPrompt: true), "1")
        assertMentions(renderError("{{ [[[[[[1]]]]]] | length }}", limits: limits), "deeper than 5 levels")
        let loop = "{% set ns = namespace(v=[]) %}{% for i in range(60) %}{% set ns.v = [ns.v] %}{% endfor %}{{ ns.v | length }}"
        XCTAssertEqual(try render(loop), "1")
    }

    // MARK: - Parse depth

    func testDeepParenthesesAreAParseErrorNotAStackOverflow() {
        let n = 100_000
        let source = "{{ " + String(repeating: "(", count: n) + "1" + String(repeating: ")", count: n) + " }}"
        assertMentions(parseError(source), "chat template: nesting deeper than 64")
    }

    func testDeepBlocksAreAParseError() {
        let n = 20_000
        let source = String(repeating: "{% if true %}", count: n) + "x" + String(repeating: "{% endif %}", count: n)
        assertMentions(parseError(source), "nesting deeper than 64")
        let lists = "{{ " + String(repeating: "[", count: n) + String(repeating: "]", count: n) + " }}"
        assertMentions(parseError(lists), "nesting deeper than 64")
    }

    func testLongOperatorAndFilterChainsAreBounded() {
        // Each builds a tree as deep as the chain is long.
        let chains = [
            "{{ 1" + String(repeating: " + 1", count: 100_000) + " }}",
            "{{ x" + String(repeating: " or x", count: 100_000) + " }}",
            "{{ 2" + String(repeating: " * 1", count: 100_000) + " }}",
            "{{ " + String(repeating: "not ", count: 100_000) + "x }}",
            "{{ " + String(repeating: "- ", count: 100_000) + "1 }}",
            "{{ x" + String(repeating: "|trim", count: 100_000) + " }}",
            "{{ x" + String(repeating: ".a", count: 100_000) + " }}",
            "{{ x" + String(repeating: "[0]", count: 100_000) + " }}",
            "{{ 1" + String(repeating: " if x", count: 100_000) + " }}",
        ]
        for source in chains { assertMentions(parseError(source), "nesting deeper than 64") }
    }

    func testNestingLimitIsConfigurableAndRealDepthsPass() throws {
        var limits = ChatTemplateLimits()
        limits.nesting = 8
        XCTAssertThrowsError(try ChatTemplate(source: "{{ ((((((((1)))))))) }}", limits: limits))
        // A typical real line: a few levels.
        let line = "{% for m in messages %}{% if m['role'] == 'user' %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] | trim + '<|im_end|>' }}{% endif %}{% endfor %}"
        XCTAssertEqual(try render(line), "<|im_start|>user\nhi<|im_end|>")
    }

    // MARK: - Sizes

    func testStringRepeatedTenToTheTwelveIsAnError() {
        assertMentions(renderError("{{ 'a' * 10**12 }}"), "chat template: a string exceeds 1 MiB")
        assertMentions(renderError("{{ 10**12 * 'ab' }}"), "a string exceeds 1 MiB")
        assertMentions(renderError("{{ 'a' * 9223372036854775807 }}"), "a string exceeds")
    }

    func testEmptyStringAndListRepeatedHugelyAreEmpty() throws {
        XCTAssertEqual(try render("{{ '' * 10**12 }}|{{ ([] * 10**12) | length }}"), "|0")
    }

    func testListRepeatedTenToTheTwelveIsAnError() {
        assertMentions(renderError("{{ ([1] * 10**12) | length }}"), "chat template: a list exceeds 100000 items")
        assertMentions(renderError("{{ ([1, 2] * 9223372036854775807) | length }}"), "a list exceeds")
    }

    func testIndentTenToTheTwelveIsAnError() {
        assertMentions(renderError("{{ 'a\\nb' | indent(10**12) }}"), "a string exceeds 1 MiB")
        assertMentions(renderError("{{ 'x' | tojson(indent=10**12) }}"), "a string exceeds 1 MiB")
        // A wide prefix times many lines.
        assertMentions(renderError("{{ ('a\\n' * 100000) | indent(100) }}"), "a string exceeds 1 MiB")
    }

    func testStringDoublingLoopIsAnError() {
        let viaTilde = "{% set ns = namespace(s='a') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}"
        assertMentions(renderError(viaTilde), "a string exceeds 1 MiB")
        let viaPlus = "{% set ns = namespace(s='a') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}"
        assertMentions(renderError(viaPlus), "a string exceeds 1 MiB")
        let viaList = "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|length }}"
        assertMentions(renderError(viaList), "a list exceeds 100000 items")
    }

    func testOutputLimit() {
        let source = "{% for i in range(99999) %}{{ 'x' * 100 }}{% endfor %}"
        assertMentions(renderError(source), "chat template: output exceeds 1 MiB")
    }

    func testOutputAllowanceGrowsWithTheConversation() throws {
        // A conversation longer than the fixed limit still renders.
        let long = String(repeating: "word ", count: 300_000)  // 1.5 MB
        let template = try ChatTemplate(source: "{% for m in messages %}{{ m['content'] }}{% endfor %}")
        let out = try template.render(messages: [ChatMessage(role: "user", content: long)], addGenerationPrompt: false)
        XCTAssertEqual(out, long)
    }

    func testReprOfANestedListBombIsAnError() {
        let source = "{% set a = ['x' * 1000] * 1000 %}{% set b = [a] * 1000 %}{{ b }}"
        assertMentions(renderError(source), "a string exceeds 1 MiB")
        let json = "{% set a = ['x' * 1000] * 1000 %}{% set b = [a] * 1000 %}{{ b | tojson }}"
        assertMentions(renderError(json), "a string exceeds 1 MiB")
        let joined = "{% set a = ['x' * 1000] * 2000 %}{{ a | join(',') }}"
        assertMentions(renderError(joined), "a string exceeds 1 MiB")
    }

    func testReplaceBombIsAnError() {
        assertMentions(renderError("{{ ('a' * 100000) | replace('', 'b' * 100) }}"), "a string exceeds 1 MiB")
        assertMentions(renderError("{{ ('a' * 100000).replace('a', 'b' * 100) }}"), "a string exceeds 1 MiB")
    }

    func testPercentFormatLimits() throws {
        assertMentions(renderError("{{ '%.99999f' % 1.0 }}"), "precision")
        assertMentions(renderError("{{ '%s%s%s%s%s%s%s%s' % ((('x' * 200000),) * 8) }}"), "chat template:")
        // Large floats format without trapping, like Python.
        XCTAssertEqual(try render("{{ '%d' % 1e20 }}|{{ '%.2f' % 1e20 }}"), "100000000000000000000|100000000000000000000.00")
        XCTAssertEqual(try render("{{ '%.3f' % 2.5 }}"), "2.500")
    }

    // MARK: - Calls and loops

    func testRecursiveMacroIsAnError() {
        let source = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"
        assertMentions(renderError(source), "chat template: macro calls nested deeper than 32 ('f')")
        // Mutual recursion too.
        let mutual = "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}"
        assertMentions(renderError(mutual), "macro calls nested deeper than 32")
    }

    func testShallowRecursionStillWorks() throws {
        let source = "{% macro count(n) %}{% if n > 0 %}{{ n }}{{ count(n - 1) }}{% endif %}{% endmacro %}{{ count(5) }}"
        XCTAssertEqual(try render(source), "54321")
    }

    func testThreeNestedHugeRangesHitTheIterationLimit() {
        let source = "{% for i in range(99999) %}{% for j in range(99999) %}{% for k in range(99999) %}{% endfor %}{% endfor %}{% endfor %}"
        assertMentions(renderError(source), "chat template: more than 1000000 loop iterations")
    }

    func testIterationLimitIsConfigurable() {
        var limits = ChatTemplateLimits()
        limits.iterations = 10
        assertMentions(renderError("{% for i in range(11) %}{% endfor %}", limits: limits), "more than 10 loop iterations")
    }

    func testTimeBudget() {
        var limits = ChatTemplateLimits()
        limits.seconds = 1e-9
        let source = "{% for i in range(50000) %}{{ i }}{% endfor %}"
        assertMentions(renderError(source, limits: limits), "chat template: rendering took longer than")
    }

    func testUniqueOnAHugeListIsBounded() {
        // Quadratic work is charged to the iteration budget.
        assertMentions(renderError("{{ range(99999) | unique | length }}"), "loop iterations")
    }

    func testRangeBounds() {
        assertMentions(renderError("{{ range(-9223372036854775807 - 1, 9223372036854775807) | length }}"), "range()")
        assertMentions(renderError("{{ range(10**12) | length }}"), "exceeds 100000")
    }

    // MARK: - Integers

    func testIntMinFloorDivideMinusOneIsAnError() throws {
        assertMentions(renderError("{{ (-9223372036854775807 - 1) // -1 }}"), "chat template: integer overflow in '//'")
        XCTAssertEqual(try render("{{ (-9223372036854775807 - 1) % -1 }}"), "0")
        assertMentions(renderError("{{ -(-9223372036854775807 - 1) }}"), "integer overflow in unary -")
    }

    func testAbsOfIntMinIsAnError() {
        assertMentions(renderError("{{ (-9223372036854775807 - 1) | abs }}"), "chat template: integer overflow in abs()")
    }

    func testIntOfTwentyThreeNinesIsAnError() throws {
        assertMentions(renderError("{{ ('9' * 23) | int }}"), "chat template: integer out of range")
        assertMentions(renderError("{{ 1e300 | int }}"), "integer out of range")
        // Filters bind tighter than `*`: this is '9' repeated 23 times, a string.
        XCTAssertEqual(try render("{{ '9'*23|int }}"), String(repeating: "9", count: 23))
        XCTAssertEqual(try render("{{ 'abc' | int }}|{{ 'abc' | int(7) }}|{{ '12' | int }}|{{ 3.9 | int }}"), "0|7|12|3")
    }

    func testPowerIsBySquaring() throws {
        XCTAssertEqual(try render("{{ 1 ** 10**12 }}|{{ (-1) ** (10**12 + 1) }}|{{ 0 ** 10**12 }}|{{ 2 ** 62 }}"),
                       "1|-1|0|4611686018427387904")
        assertMentions(renderError("{{ 2 ** 63 }}"), "integer overflow in '**'")
        assertMentions(renderError("{{ 3 ** 10**12 }}"), "integer overflow in '**'")
    }

    func testRoundWithHugePrecision() throws {
        XCTAssertEqual(try render("{{ 2.5 | round(9223372036854775807) }}"), "2.5")
        XCTAssertEqual(try render("{{ 2.5 | round(-9223372036854775807 - 1) }}"), "0.0")
    }

    // MARK: - Search and messages

    func testSubstringSearchIsLinear() throws {
        // The naive search did 10**10 comparisons here.
        let source = "{{ ('a' * 100000 + 'b') in ('a' * 200000) }}|{{ ('a' * 200000 + 'b').find('a' * 100000 + 'b') }}"
        XCTAssertEqual(try render(source), "False|100000")
        XCTAssertEqual(try render("{{ 'abcabd'.find('abd') }}|{{ 'aab'.replace('ab', 'x') }}|{{ 'a,b,,c'.split(',') }}"),
                       "3|ax|['a', 'b', '', 'c']")
    }

    func testErrorsQuoteAnExcerptOfTemplateText() {
        let longName = String(repeating: "f", count: 1_000_000)
        let unknownFilter = renderError("{{ 'x' | \(longName) }}")
        assertMentions(unknownFilter, "unknown filter")
        XCTAssertTrue(unknownFilter.contains("bytes cut"), unknownFilter)
        assertMentions(renderError("{{ raise_exception('x' * 100000) }}"), "raise_exception: xxx")
        assertMentions(parseError("{% \(longName) %}"), "unknown or unsupported tag")
        assertMentions(parseError("{{ 1 + '\(String(repeating: "y", count: 100_000))' + }}"), "unexpected")
        assertMentions(parseError("{{ \(String(repeating: "9", count: 100_000)) }}"), "is too large")
    }
}
