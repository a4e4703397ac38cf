// Tests for the chat-template interpreter (public API only).
//
// The expected strings in `Fixtures` below were produced by rendering the same
// templates with Python's jinja2, configured like transformers' apply_chat_template
// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols,
// raise_exception, json.dumps-based tojson, tools/documents passed as None).

import XCTest
import Model

struct ChatTemplateCase {
    var label: String
    var template: String
    var messages: [ChatMessage]
    var addGenerationPrompt: Bool
    var bosToken: String
    var eosToken: String
    var extra: [String: JinjaValue]
    /// jinja2's output, or nil when jinja2 raised `error`.
    var expected: String?
    var error: String?
}

final class ChatTemplateTests: XCTestCase {
    /// The jinja2 references were rendered on 2026-11-29; templates that print today's date
    /// (strftime_now) must see that day, whatever day the tests run (noon UTC: the same date in
    /// any time zone within ±11 hours).
    static let fixtureDay = Date(timeIntervalSince1970: 1_795_953_600)

    private func check(_ cases: [ChatTemplateCase], file: StaticString = #filePath, line: UInt = #line) {
        for c in cases {
            let template: ChatTemplate
            do {
                template = try ChatTemplate(source: c.template)
            } catch {
                XCTFail("\(c.label): parse failed: \(error)", file: file, line: line)
                continue
            }
            do {
                let output = try template.render(
                    messages: c.messages, addGenerationPrompt: c.addGenerationPrompt,
                    bosToken: c.bosToken, eosToken: c.eosToken, extra: c.extra, now: Self.fixtureDay)
                if let expected = c.expected {
                    XCTAssertEqual(output, expected, c.label, file: file, line: line)
                } else {
                    XCTFail("\(c.label): expected error '\(c.error ?? "")' but rendered \(output.debugDescription)",
                        file: file, line: line)
                }
            } catch {
                if let message = c.error {
                    XCTAssertTrue("\(error)".contains(message), "\(c.label): \(error)", file: file, line: line)
                } else {
                    XCTFail("\(c.label): unexpected error \(error)", file: file, line: line)
                }
            }
        }
    }

    private func render(
        _ source: String, _ messages: [ChatMessage], addGenerationPrompt: Bool = true, bosToken: String = "",
        extra: [String: JinjaValue] = [:]
    ) throws -> String {
        try ChatTemplate(source: source).render(
            messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, extra: extra)
    }

    // MARK: SmolLM2 (the template shipped in the test model's GGUF)

    func testSmolLM2InsertsDefaultSystemPrompt() throws {
        let output = try render(ChatTemplateSources.smollm2, [ChatMessage(role: "user", content: "What is 2 + 2?")])
        XCTAssertEqual(
            output,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n"
        )
    }

    func testSmolLM2UsesGivenSystemPromptAndOmitsGenerationPrompt() throws {
        let output = try render(
            ChatTemplateSources.smollm2,
            [ChatMessage(role: "system", content: "Be terse."), ChatMessage(role: "user", content: "Hi")],
            addGenerationPrompt: false)
        XCTAssertEqual(output, "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
    }

    func testTemplateWithRealNewlinesInsideStringLiterals() throws {
        // GGUF metadata stores the template JSON-decoded, so '\n' escapes may arrive as
        // real newlines inside string literals; both spellings must render the same.
        let decoded = ChatTemplateSources.smollm2.replacingOccurrences(of: "\\n", with: "\n")
        XCTAssertNotEqual(decoded, ChatTemplateSources.smollm2)
        let messages = [ChatMessage(role: "user", content: "What is 2 + 2?")]
        XCTAssertEqual(try render(decoded, messages), try render(ChatTemplateSources.smollm2, messages))
    }

    // MARK: Real template families vs jinja2

    func testTemplateFamiliesMatchJinja2() {
        check(ChatTemplateFixtures.familyCases)
    }

    func testRandomConversationsMatchJinja2() {
        check(ChatTemplateFixtures.randomCases)
    }

    func testJinjaFeaturesMatchJinja2() {
        check(ChatTemplateFixtures.featureCases)
    }

    func testGemmaMapsAssistantToModelAndRaisesOnBadAlternation() throws {
        let ok = try render(
            ChatTemplateSources.gemma3,
            [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello")],
            bosToken: "<bos>")
        XCTAssertEqual(
            ok, "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>model\n")
        XCTAssertThrowsError(
            try render(
                ChatTemplateSources.gemma2,
                [ChatMessage(role: "user", content: "a"), ChatMessage(role: "user", content: "b")])
        ) { error in
            XCTAssertTrue("\(error)".contains("Conversation roles must alternate user/assistant/user/assistant/..."))
        }
    }

    func testLlama31UsesDateStringExtra() throws {
        let output = try render(
            ChatTemplateSources.llama3_1, [ChatMessage(role: "user", content: "Hi")], bosToken: "<|begin_of_text|>",
            extra: ["date_string": "01 Jan 2025"])
        XCTAssertTrue(output.hasPrefix("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"))
        XCTAssertTrue(output.contains("Today Date: 01 Jan 2025\n\n"))
        XCTAssertTrue(output.hasSuffix("<|start_header_id|>assistant<|end_header_id|>\n\n"))
    }

    func testTemplateIsReusableAcrossConcurrentRenders() async throws {
        let template = try ChatTemplate(source: ChatTemplateSources.qwen2_5)
        let messages = [ChatMessage(role: "user", content: "Hello")]
        let expected = try template.render(messages: messages, addGenerationPrompt: true)
        try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask { try template.render(messages: messages, addGenerationPrompt: true) }
            }
            for try await output in group { XCTAssertEqual(output, expected) }
        }
    }

    func testJinjaValueLiteralsKeepDictionaryOrder() throws {
        let tool: JinjaValue = ["name": "f", "arguments": ["z": 1, "a": [true, nil, 1.5]]]
        XCTAssertEqual(
            try render("{{ t | tojson }}", [], extra: ["t": tool]),
            #"{"name": "f", "arguments": {"z": 1, "a": [true, null, 1.5]}}"#)
    }

    // MARK: Errors

    private func assertError(
        _ source: String, contains fragments: [String], render shouldRender: Bool = false,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        do {
            let template = try ChatTemplate(source: source)
            guard shouldRender else {
                return XCTFail("expected a parse error for \(source.debugDescription)", file: file, line: line)
            }
            let output = try template.render(messages: [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true)
            XCTFail("expected an error, rendered \(output.debugDescription)", file: file, line: line)
        } catch {
            let description = "\(error)"
            for fragment in fragments {
                XCTAssertTrue(description.contains(fragment), "\(description) lacks \(fragment)", file: file, line: line)
            }
        }
    }

    func testUnclosedIfNamesItsPosition() {
        assertError("Hello\n  {% if messages %}\nunclosed", contains: ["line 2:3", "unclosed 'if'", "endif"])
        assertError("{% for m in messages %}{% if x %}{% endfor %}", contains: ["line 1:34", "1:24", "unclosed 'if'", "endif"])
    }

    func testSyntaxErrorsNameTheirPosition() {
        assertError("{{ 'a' + }}", contains: ["line 1:10", "unexpected"])
        assertError("line one\n{{ 'unterminated }}", contains: ["line 2:4", "unterminated string"])
        assertError("{% endif %}", contains: ["line 1:1", "endif"])
        assertError("{% frobnicate %}", contains: ["line 1:1", "frobnicate"])
        assertError("{{ x ", contains: ["line 1:1", "unclosed"])
        assertError("ok {# never closed", contains: ["line 1:4", "comment"])
        assertError("{{ [1, 2 }}", contains: ["line 1:4", "unclosed '['"])
    }

    func testUnknownFilterFailsAtRenderWithPosition() {
        assertError("\n\n  {{ messages | frobnicate }}", contains: ["line 3:15", "unknown filter 'frobnicate'"], render: true)
        assertError("{{ 'x' is frobnicated }}", contains: ["line 1:8", "unknown test 'frobnicated'"], render: true)
        assertError("{{ nope() }}", contains: ["line 1:8", "'nope' is undefined"], render: true)
    }

    func testRaiseExceptionCarriesMessage() {
        assertError(
            "{% if messages[0].role == 'user' %}{{ raise_exception('Only assistants here') }}{% endif %}",
            contains: ["Only assistants here", "line 1:"], render: true)
    }

    func testErrorOperandsAreReported() {
        assertError("{{ 'a' + 1 }}", contains: ["line 1:8", "'str' and 'int'"], render: true)
        assertError("{% set x.y = 1 %}", contains: ["namespace"], render: true)
    }

    // MARK: ChatFormat fallback

    func testChatFormatDetect() {
        XCTAssertEqual(ChatFormat.detect(template: ChatTemplateSources.smollm2), .chatML)
        XCTAssertEqual(ChatFormat.detect(template: ChatTemplateSources.qwen2_5), .chatML)
        XCTAssertEqual(ChatFormat.detect(template: ChatTemplateSources.llama3), .llama3)
        XCTAssertEqual(ChatFormat.detect(template: ChatTemplateSources.llama3_1), .llama3)
        XCTAssertEqual(ChatFormat.detect(template: ChatTemplateSources.gemma2), .gemma)
        XCTAssertEqual(ChatFormat.detect(template: ChatTemplateSources.gemma3), .gemma)
        XCTAssertNil(ChatFormat.detect(template: "{{ messages }}"))
    }

    func testChatFormatMatchesRealTemplates() throws {
        let system = ChatMessage(role: "system", content: "You are terse.")
        let turns = [
            ChatMessage(role: "user", content: " Hi there \n"),
            ChatMessage(role: "assistant", content: "Hello!"),
            ChatMessage(role: "user", content: "What is 2 + 2?"),
        ]
        let pairs: [(ChatFormat, String, String, [[ChatMessage]])] = [
            (.chatML, ChatTemplateSources.smollm2, "", [[system] + turns]),
            (.chatML, ChatTemplateSources.qwen2_5, "", [[system] + turns]),
            (.llama3, ChatTemplateSources.llama3, "<|begin_of_text|>", [turns, [system] + turns]),
            (.gemma, ChatTemplateSources.gemma3, "<bos>", [turns, [system] + turns]),
            (.gemma, ChatTemplateSources.gemma2, "<bos>", [turns]),
        ]
        for (format, source, bos, conversations) in pairs {
            for messages in conversations {
                for addGenerationPrompt in [true, false] {
                    let expected = try render(
                        source, messages, addGenerationPrompt: addGenerationPrompt, bosToken: bos)
                    XCTAssertEqual(
                        format.render(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bos),
                        expected, "\(format) \(messages.count) messages")
                }
            }
        }
    }
}

// MARK: - Generated by gen.py from jinja2 3.1.6 configured like transformers' apply_chat_template.
// Do not edit by hand; the expected strings are jinja2's output.

enum ChatTemplateSources {
    static let smollm2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
    static let llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
    static let llama3_1 = #"""
{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\n\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
                {%- endfor %}
            {{- ")" }}
        {%- else  %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {%- if builtin_tools is defined %}
            {#- This means we're in ipython mode #}
            {{- "<|eom_id|>" }}
        {%- else %}
            {{- "<|eot_id|>" }}
        {%- endif %}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}

"""#
    static let llama3_2 = #"""
{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}

"""#
    static let gemma2 = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
    static let gemma3 = #"""
{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '

' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '

' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '
' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>
' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model
'}}
{%- endif -%}

"""#
    static let qwen2_5 = #"""
{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}

"""#
    static let mistral7b = "{{bos_token}}{% set user_messages = messages | selectattr('role', 'equalto', 'user') | list %}{% for message in messages %}{% if message['role'] == 'user' %}{% if message == user_messages[-1] %}{% if tools %}{{'[AVAILABLE_TOOLS]'+ tools|string + '[/AVAILABLE_TOOLS]'}}{% endif %}{{ '[INST]' + message['content'] + '[/INST]' }}{% else %}{{ '[INST]' + message['content'] + '[/INST]' }}{% endif %}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + ' ' + eos_token}}{% elif message['role'] == 'tool_results' %}{{'[TOOL_RESULTS]' + message['content']|string + '[/TOOL_RESULTS]'}}{% elif message['role'] == 'tool_calls' %}{{'[TOOL_CALLS]' + message['content']|string + eos_token}}{% endif %}{% endfor %}"
    static let granite3_3 = #"""
{# Alias tools -> available_tools #}
{%- if tools and not available_tools -%}
    {%- set available_tools = tools -%}
{%- endif -%}
{%- if messages[0]['role'] == 'system' %}
     {%- set system_message = messages[0]['content'] %}
     {%- set loop_messages = messages[1:] %}
 {%- else %}
     {%- set system_message = "Knowledge Cutoff Date: April 2024.\nToday's Date: " + strftime_now('%B %d, %Y') + ".\nYou are Granite, developed by IBM." %}
     {%- if available_tools and documents %}
         {%- set system_message = system_message + " You are a helpful assistant with access to the following tools. When a tool is required to answer the user's query, respond only with <|tool_call|> followed by a JSON list of tools used. If a tool does not exist in the provided list of tools, notify the user that you do not have the ability to fulfill the request.\nWrite the response to the user's input by strictly aligning with the facts in the provided documents. If the information needed to answer the question is not available in the documents, inform the user that the question cannot be answered based on the available data." %}
     {%- elif available_tools %}
         {%- set system_message = system_message + " You are a helpful assistant with access to the following tools. When a tool is required to answer the user's query, respond only with <|tool_call|> followed by a JSON list of tools used. If a tool does not exist in the provided list of tools, notify the user that you do not have the ability to fulfill the request." %}
     {%- elif documents %}
         {%- set system_message = system_message + " Write the response to the user's input by strictly aligning with the facts in the provided documents. If the information needed to answer the question is not available in the documents, inform the user that the question cannot be answered based on the available data." %}
    {%- elif thinking %}
    {%- set system_message = system_message + " You are a helpful AI assistant.\nRespond to every user query in a comprehensive and detailed way. You can write down your thoughts and reasoning process before responding. In the thought process, engage in a comprehensive cycle of analysis, summarization, exploration, reassessment, reflection, backtracing, and iteration to develop well-considered thinking process. In the response section, based on various attempts, explorations, and reflections from the thoughts section, systematically present the final solution that you deem correct. The response should summarize the thought process. Write your thoughts between <think></think> and write your response between <response></response> for each user query." %}
     {%- else %}
         {%- set system_message = system_message + " You are a helpful AI assistant." %}
     {%- endif %}
     {%- if 'citations' in controls and documents %}
         {%- set system_message = system_message + '\nUse the symbols <|start_of_cite|> and <|end_of_cite|> to indicate when a fact comes from a document in the search result, e.g <|start_of_cite|> {document_id: 1}my fact <|end_of_cite|> for a fact from document 1. Afterwards, list all the citations with their corresponding documents in an ordered list.' %}
     {%- endif %}
     {%- if 'hallucinations' in controls and documents %}
         {%- set system_message = system_message + '\nFinally, after the response is written, include a numbered list of sentences from the response with a corresponding risk value that are hallucinated and not based in the documents.' %}
     {%- endif %}
     {%- set loop_messages = messages %}
 {%- endif %}
 {{- '<|start_of_role|>system<|end_of_role|>' + system_message + '<|end_of_text|>\n' }}
 {%- if available_tools %}
     {{- '<|start_of_role|>available_tools<|end_of_role|>' }}
     {{- available_tools | tojson(indent=4) }}
     {{- '<|end_of_text|>\n' }}
 {%- endif %}
 {%- if documents %}
     {%- for document in documents %}
         {{- '<|start_of_role|>document {"document_id": "' + document['doc_id'] | string + '"}<|end_of_role|>\n' }}
         {{- document['text'] }}
         {{- '<|end_of_text|>\n' }}
              {%- endfor %}
 {%- endif %}
 {%- for message in loop_messages %}
     {{- '<|start_of_role|>' + message['role'] + '<|end_of_role|>' + message['content'] + '<|end_of_text|>\n' }}
     {%- if loop.last and add_generation_prompt %}
         {{- '<|start_of_role|>assistant' }}
             {%- if controls %}
                 {{- ' ' + controls | tojson()}}
             {%- endif %}
         {{- '<|end_of_role|>' }}
     {%- endif %}
 {%- endfor %}
"""#
    static let smollm3 = #"""
{# ───── defaults ───── #}
{%- if enable_thinking is not defined -%}
{%- set enable_thinking = true -%}
{%- endif -%}

{# ───── reasoning mode ───── #}
{%- if enable_thinking -%}
{%- set reasoning_mode = "/think" -%}
{%- else -%}
{%- set reasoning_mode = "/no_think" -%}
{%- endif -%}

{# ───── header (system message) ───── #}
{{- "<|im_start|>system\n" -}}

{%- if messages[0].role == "system" -%}
{%- set system_message = messages[0].content -%}
{%- if "/no_think" in system_message -%}
{%- set reasoning_mode = "/no_think" -%}
{%- elif "/think" in system_message -%}
{%- set reasoning_mode = "/think" -%}
{%- endif -%}
{%- set custom_instructions = system_message.replace("/no_think", "").replace("/think", "").rstrip() -%}
{%- endif -%}

{%- if "/system_override" in system_message -%}
{{- custom_instructions.replace("/system_override", "").rstrip() -}}
{{- "<|im_end|>\n" -}}
{%- else -%}
{{- "## Metadata\n\n" -}}
{{- "Knowledge Cutoff Date: June 2025\n" -}}
{%- set today = strftime_now("%d %B %Y") -%}
{{- "Today Date: " ~ today ~ "\n" -}}
{{- "Reasoning Mode: " + reasoning_mode + "\n\n" -}}

{{- "## Custom Instructions\n\n" -}}
{%- if custom_instructions -%}
{{- custom_instructions + "\n\n" -}}
{%- elif reasoning_mode == "/think" -%}
{{- "You are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves thoroughly exploring questions through a systematic thinking process before providing the final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please structure your response into two main sections: Thought and Solution using the specified format: <think> Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. Each step should include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The Solution section should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.\n\n" -}}
{%- else -%}
{{- "You are a helpful AI assistant named SmolLM, trained by Hugging Face.\n\n" -}}
{%- endif -%}

{%- if xml_tools or python_tools -%}
{{- "### Tools\n\n" -}}
{%- if xml_tools -%}
  {%- set ns = namespace(xml_tool_string="You may call one or more functions to assist with the user query.\nYou are provided with function signatures within <tools></tools> XML tags:\n\n<tools>\n") -%}
  {%- for tool in xml_tools[:] -%} {# The slicing makes sure that xml_tools is a list #}
    {%- set ns.xml_tool_string = ns.xml_tool_string ~ (tool | string) ~ "\n" -%}
  {%- endfor -%}
  {%- set xml_tool_string = ns.xml_tool_string + "</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>" -%}
  {{- xml_tool_string -}}
{%- endif -%}
{%- if python_tools -%}
  {%- set ns = namespace(python_tool_string="When you send a message containing Python code between '<code>' and '</code>' tags, it will be executed in a stateful Jupyter notebook environment, and you will then be given the output to continued reasoning in an agentic loop.\n\nYou can use the following tools in your python code like regular functions:\n<tools>\n") -%}
  {%- for tool in python_tools[:] -%} {# The slicing makes sure that python_tools is a list #}
    {%- set ns.python_tool_string = ns.python_tool_string ~ (tool | string) ~ "\n" -%}
  {%- endfor -%}
  {%- set python_tool_string = ns.python_tool_string + "</tools>\n\nThe state persists between code executions: so variables that you define in one step are still available thereafter." -%}
  {{- python_tool_string -}}
{%- endif -%}
{{- "\n\n" -}}
{{- "<|im_end|>\n" -}}
{%- endif -%}
{%- endif -%}
{# ───── main loop ───── #}
{%- for message in messages -%}
{%- set content = message.content if message.content is string else "" -%}
{%- if message.role == "user" -%}
    {{ "<|im_start|>" + message.role + "\n"  + content + "<|im_end|>\n" }}
{%- elif message.role == "assistant" -%}
    {% generation %}
    {%- if reasoning_mode == "/think" -%}
        {{ "<|im_start|>assistant\n" + content.lstrip("\n") + "<|im_end|>\n" }}
    {%- else -%}
        {{ "<|im_start|>assistant\n" + "<think>\n\n</think>\n" + content.lstrip("\n") + "<|im_end|>\n" }}
    {%- endif -%}
    {% endgeneration %}
{%- elif message.role == "tool" -%}
{{ "<|im_start|>" + "user\n"  + content + "<|im_end|>\n" }}
{%- endif -%}
{%- endfor -%}
{# ───── generation prompt ───── #}
{%- if add_generation_prompt -%}
{%- if reasoning_mode == "/think" -%}
    {{ "<|im_start|>assistant\n" }}
{%- else -%}
    {{ "<|im_start|>assistant\n" + "<think>\n\n</think>\n"  }}
{%- endif -%}
{%- endif -%}
"""#
    static let qwen3_coder = #"""
{% macro render_item_list(item_list, tag_name='required') %}
    {%- if item_list is defined and item_list is iterable and item_list | length > 0 %}
        {%- if tag_name %}{{- '\n<' ~ tag_name ~ '>' -}}{% endif %}
            {{- '[' }}
                {%- for item in item_list -%}
                    {%- if loop.index > 1 %}{{- ", "}}{% endif -%}
                    {%- if item is string -%}
                        {{ "`" ~ item ~ "`" }}
                    {%- else -%}
                        {{ item }}
                    {%- endif -%}
                {%- endfor -%}
            {{- ']' }}
        {%- if tag_name %}{{- '</' ~ tag_name ~ '>' -}}{% endif %}
    {%- endif %}
{% endmacro %}

{%- if messages[0]["role"] == "system" %}
    {%- set system_message = messages[0]["content"] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{%- if not tools is defined %}
    {%- set tools = [] %}
{%- endif %}

{%- if system_message is defined %}
    {{- "<|im_start|>system\n" + system_message }}
{%- else %}
    {%- if tools is iterable and tools | length > 0 %}
        {{- "<|im_start|>system\nYou are Qwen, a helpful AI assistant that can interact with a computer to solve tasks." }}
    {%- endif %}
{%- endif %}
{%- if tools is iterable and tools | length > 0 %}
    {{- "\n\nYou have access to the following functions:\n\n" }}
    {{- "<tools>" }}
    {%- for tool in tools %}
        {%- if tool.function is defined %}
            {%- set tool = tool.function %}
        {%- endif %}
        {{- "\n<function>\n<name>" ~ tool.name ~ "</name>" }}
        {{- '\n<description>' ~ (tool.description | trim) ~ '</description>' }}
        {{- '\n<parameters>' }}
        {%- for param_name, param_fields in tool.parameters.properties|items %}
            {{- '\n<parameter>' }}
            {{- '\n<name>' ~ param_name ~ '</name>' }}
            {%- if param_fields.type is defined %}
                {{- '\n<type>' ~ (param_fields.type | string) ~ '</type>' }}
            {%- endif %}
            {%- if param_fields.description is defined %}
                {{- '\n<description>' ~ (param_fields.description | trim) ~ '</description>' }}
            {%- endif %}
            {{- render_item_list(param_fields.enum, 'enum') }}
            {%- set handled_keys = ['type', 'description', 'enum', 'required'] %}
            {%- for json_key in param_fields.keys() | reject("in", handled_keys) %}
                {%- set normed_json_key = json_key | replace("-", "_") | replace(" ", "_") | replace("$", "") %}
                {%- if param_fields[json_key] is mapping %}
                    {{- '\n<' ~ normed_json_key ~ '>' ~ (param_fields[json_key] | tojson | safe) ~ '</' ~ normed_json_key ~ '>' }}
                {%- else %}
                    {{-'\n<' ~ normed_json_key ~ '>' ~ (param_fields[json_key] | string) ~ '</' ~ normed_json_key ~ '>' }}
                {%- endif %}
            {%- endfor %}
            {{- render_item_list(param_fields.required, 'required') }}
            {{- '\n</parameter>' }}
        {%- endfor %}
        {{- render_item_list(tool.parameters.required, 'required') }}
        {{- '\n</parameters>' }}
        {%- if tool.return is defined %}
            {%- if tool.return is mapping %}
                {{- '\n<return>' ~ (tool.return | tojson | safe) ~ '</return>' }}
            {%- else %}
                {{- '\n<return>' ~ (tool.return | string) ~ '</return>' }}
            {%- endif %}
        {%- endif %}
        {{- '\n</function>' }}
    {%- endfor %}
    {{- "\n</tools>" }}
    {{- '\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n- Required parameters MUST be specified\n- You may provide optional reasoning for your function call in natural language BEFORE the function call, but NOT after\n- If there is no function call available, answer the question like normal with your current knowledge and do not tell the user about function calls\n</IMPORTANT>' }}
{%- endif %}
{%- if system_message is defined %}
    {{- '<|im_end|>\n' }}
{%- else %}
    {%- if tools is iterable and tools | length > 0 %}
        {{- '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in loop_messages %}
    {%- if message.role == "assistant" and message.tool_calls is defined and message.tool_calls is iterable and message.tool_calls | length > 0 %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content is defined and message.content is string and message.content | trim | length > 0 %}
            {{- '\n' + message.content | trim + '\n' }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n<function=' + tool_call.name + '>\n' }}
            {%- if tool_call.arguments is defined %}
                {%- for args_name, args_value in tool_call.arguments|items %}
                    {{- '<parameter=' + args_name + '>\n' }}
                    {%- set args_value = args_value if args_value is string else args_value | string %}
                    {{- args_value }}
                    {{- '\n</parameter>\n' }}
                {%- endfor %}
            {%- endif %}
            {{- '</function>\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "user" or message.role == "system" or message.role == "assistant" %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.previtem and loop.previtem.role != "tool" %}
            {{- '<|im_start|>user\n' }}
        {%- endif %}
        {{- '<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>\n' }}
        {%- if not loop.last and loop.nextitem.role != "tool" %}
            {{- '<|im_end|>\n' }}
        {%- elif loop.last %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- else %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""#
}

enum ChatTemplateFixtures {
    static let familyCases: [ChatTemplateCase] = [
        ChatTemplateCase(label: "smollm2 conv1 agp=True", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm2 conv1 agp=False", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm2 conv2 agp=True", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n  Tell me a joke.  \n<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm2 conv2 agp=False", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n  Tell me a joke.  \n<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm2 conv3 agp=True", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello. How can I help?<|im_end|>\n<|im_start|>user\nExplain \"quotes\" and \\backslashes\\ please.<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm2 conv3 agp=False", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello. How can I help?<|im_end|>\n<|im_start|>user\nExplain \"quotes\" and \\backslashes\\ please.<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "llama3 conv1 agp=True", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3 conv1 agp=False", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3 conv2 agp=True", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3 conv2 agp=False", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3 conv3 agp=True", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello. How can I help?<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nExplain \"quotes\" and \\backslashes\\ please.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3 conv3 agp=False", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello. How can I help?<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nExplain \"quotes\" and \\backslashes\\ please.<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_1 conv1 agp=True", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_1 conv1 agp=False", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_1 conv2 agp=True", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_1 conv2 agp=False", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_1 conv3 agp=True", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello. How can I help?<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nExplain \"quotes\" and \\backslashes\\ please.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_1 conv3 agp=False", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello. How can I help?<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nExplain \"quotes\" and \\backslashes\\ please.<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_2 conv1 agp=True", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_2 conv1 agp=False", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2 + 2?<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_2 conv2 agp=True", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_2 conv2 agp=False", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nTell me a joke.<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_2 conv3 agp=True", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello. How can I help?<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nExplain \"quotes\" and \\backslashes\\ please.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_2 conv3 agp=False", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello. How can I help?<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nExplain \"quotes\" and \\backslashes\\ please.<|eot_id|>", error: nil),
        ChatTemplateCase(label: "gemma2 conv1 agp=True", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nWhat is 2 + 2?<end_of_turn>\n<start_of_turn>model\n", error: nil),
        ChatTemplateCase(label: "gemma2 conv1 agp=False", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nWhat is 2 + 2?<end_of_turn>\n", error: nil),
        ChatTemplateCase(label: "gemma2 conv2 agp=True", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: nil, error: "System role not supported"),
        ChatTemplateCase(label: "gemma2 conv2 agp=False", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: nil, error: "System role not supported"),
        ChatTemplateCase(label: "gemma2 conv3 agp=True", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello. How can I help?<end_of_turn>\n<start_of_turn>user\nExplain \"quotes\" and \\backslashes\\ please.<end_of_turn>\n<start_of_turn>model\n", error: nil),
        ChatTemplateCase(label: "gemma2 conv3 agp=False", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello. How can I help?<end_of_turn>\n<start_of_turn>user\nExplain \"quotes\" and \\backslashes\\ please.<end_of_turn>\n", error: nil),
        ChatTemplateCase(label: "gemma3 conv1 agp=True", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nWhat is 2 + 2?<end_of_turn>\n<start_of_turn>model\n", error: nil),
        ChatTemplateCase(label: "gemma3 conv1 agp=False", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nWhat is 2 + 2?<end_of_turn>\n", error: nil),
        ChatTemplateCase(label: "gemma3 conv2 agp=True", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nTell me a joke.<end_of_turn>\n<start_of_turn>model\n", error: nil),
        ChatTemplateCase(label: "gemma3 conv2 agp=False", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nYou are terse.\n\nHi there<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nTell me a joke.<end_of_turn>\n", error: nil),
        ChatTemplateCase(label: "gemma3 conv3 agp=True", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello. How can I help?<end_of_turn>\n<start_of_turn>user\nExplain \"quotes\" and \\backslashes\\ please.<end_of_turn>\n<start_of_turn>model\n", error: nil),
        ChatTemplateCase(label: "gemma3 conv3 agp=False", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello. How can I help?<end_of_turn>\n<start_of_turn>user\nExplain \"quotes\" and \\backslashes\\ please.<end_of_turn>\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 conv1 agp=True", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 conv1 agp=False", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 conv2 agp=True", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n  Tell me a joke.  \n<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 conv2 agp=False", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n  Tell me a joke.  \n<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 conv3 agp=True", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello. How can I help?<|im_end|>\n<|im_start|>user\nExplain \"quotes\" and \\backslashes\\ please.<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 conv3 agp=False", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello. How can I help?<|im_end|>\n<|im_start|>user\nExplain \"quotes\" and \\backslashes\\ please.<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "mistral7b conv1 agp=True", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST]What is 2 + 2?[/INST]", error: nil),
        ChatTemplateCase(label: "mistral7b conv1 agp=False", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST]What is 2 + 2?[/INST]", error: nil),
        ChatTemplateCase(label: "mistral7b conv2 agp=True", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST]Hi there[/INST] Hello! </s>[INST]  Tell me a joke.  \n[/INST]", error: nil),
        ChatTemplateCase(label: "mistral7b conv2 agp=False", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST]Hi there[/INST] Hello! </s>[INST]  Tell me a joke.  \n[/INST]", error: nil),
        ChatTemplateCase(label: "mistral7b conv3 agp=True", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST]Hi[/INST] Hello. How can I help? </s>[INST]Explain \"quotes\" and \\backslashes\\ please.[/INST]", error: nil),
        ChatTemplateCase(label: "mistral7b conv3 agp=False", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST]Hi[/INST] Hello. How can I help? </s>[INST]Explain \"quotes\" and \\backslashes\\ please.[/INST]", error: nil),
        ChatTemplateCase(label: "granite3_3 conv1 agp=True", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: true, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>Knowledge Cutoff Date: April 2024.\nToday's Date: November 29, 2026.\nYou are Granite, developed by IBM. You are a helpful AI assistant.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>What is 2 + 2?<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>", error: nil),
        ChatTemplateCase(label: "granite3_3 conv1 agp=False", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: false, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>Knowledge Cutoff Date: April 2024.\nToday's Date: November 29, 2026.\nYou are Granite, developed by IBM. You are a helpful AI assistant.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>What is 2 + 2?<|end_of_text|>\n", error: nil),
        ChatTemplateCase(label: "granite3_3 conv2 agp=True", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: true, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>You are terse.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Hi there<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>Hello!<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>  Tell me a joke.  \n<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>", error: nil),
        ChatTemplateCase(label: "granite3_3 conv2 agp=False", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: false, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>You are terse.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Hi there<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>Hello!<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>  Tell me a joke.  \n<|end_of_text|>\n", error: nil),
        ChatTemplateCase(label: "granite3_3 conv3 agp=True", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: true, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>Knowledge Cutoff Date: April 2024.\nToday's Date: November 29, 2026.\nYou are Granite, developed by IBM. You are a helpful AI assistant.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Hi<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>Hello. How can I help?<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Explain \"quotes\" and \\backslashes\\ please.<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>", error: nil),
        ChatTemplateCase(label: "granite3_3 conv3 agp=False", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: false, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>Knowledge Cutoff Date: April 2024.\nToday's Date: November 29, 2026.\nYou are Granite, developed by IBM. You are a helpful AI assistant.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Hi<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>Hello. How can I help?<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Explain \"quotes\" and \\backslashes\\ please.<|end_of_text|>\n", error: nil),
        ChatTemplateCase(label: "smollm3 conv1 agp=True", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves thoroughly exploring questions through a systematic thinking process before providing the final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please structure your response into two main sections: Thought and Solution using the specified format: <think> Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. Each step should include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The Solution section should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.\n\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm3 conv1 agp=False", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves thoroughly exploring questions through a systematic thinking process before providing the final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please structure your response into two main sections: Thought and Solution using the specified format: <think> Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. Each step should include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The Solution section should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.\n\n<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm3 conv2 agp=True", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are terse.\n\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n  Tell me a joke.  \n<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm3 conv2 agp=False", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are terse.\n\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n  Tell me a joke.  \n<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm3 conv3 agp=True", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves thoroughly exploring questions through a systematic thinking process before providing the final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please structure your response into two main sections: Thought and Solution using the specified format: <think> Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. Each step should include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The Solution section should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.\n\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello. How can I help?<|im_end|>\n<|im_start|>user\nExplain \"quotes\" and \\backslashes\\ please.<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm3 conv3 agp=False", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves thoroughly exploring questions through a systematic thinking process before providing the final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please structure your response into two main sections: Thought and Solution using the specified format: <think> Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. Each step should include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The Solution section should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.\n\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello. How can I help?<|im_end|>\n<|im_start|>user\nExplain \"quotes\" and \\backslashes\\ please.<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder conv1 agp=True", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder conv1 agp=False", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "user", content: "What is 2 + 2?")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder conv2 agp=True", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n  Tell me a joke.  \n<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder conv2 agp=False", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "system", content: "You are terse."), ChatMessage(role: "user", content: "Hi there"), ChatMessage(role: "assistant", content: "Hello!"), ChatMessage(role: "user", content: "  Tell me a joke.  \n")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n  Tell me a joke.  \n<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder conv3 agp=True", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello. How can I help?<|im_end|>\n<|im_start|>user\nExplain \"quotes\" and \\backslashes\\ please.<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder conv3 agp=False", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello. How can I help?"), ChatMessage(role: "user", content: "Explain \"quotes\" and \\backslashes\\ please.")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello. How can I help?<|im_end|>\n<|im_start|>user\nExplain \"quotes\" and \\backslashes\\ please.<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "gemma2 bad alternation", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "user", content: "a"), ChatMessage(role: "user", content: "b")], addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: nil, error: "Conversation roles must alternate user/assistant/user/assistant/..."),
        ChatTemplateCase(label: "gemma3 bad alternation", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "assistant", content: "a")], addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: nil, error: "Conversation roles must alternate user/assistant/user/assistant/..."),
        ChatTemplateCase(label: "llama3_1 tools in user message", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Weather in Paris?")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["tools": .array([.object(JinjaObject([("type", .string("function")), ("function", .object(JinjaObject([("name", .string("get_weather")), ("description", .string("Get the weather for a city. Use \"metric\" units.")), ("parameters", .object(JinjaObject([("type", .string("object")), ("properties", .object(JinjaObject([("city", .object(JinjaObject([("type", .string("string")), ("description", .string("City name, e.g. Zürich"))]))), ("days", .object(JinjaObject([("type", .string("integer")), ("minimum", .int(1))])))]))), ("required", .array([.string("city")]))])))])))]))])], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\nRespond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",\n        \"description\": \"Get the weather for a city. Use \\\"metric\\\" units.\",\n        \"parameters\": {\n            \"type\": \"object\",\n            \"properties\": {\n                \"city\": {\n                    \"type\": \"string\",\n                    \"description\": \"City name, e.g. Zürich\"\n                },\n                \"days\": {\n                    \"type\": \"integer\",\n                    \"minimum\": 1\n                }\n            },\n            \"required\": [\n                \"city\"\n            ]\n        }\n    }\n}\n\nWeather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_1 tools in system message", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Weather in Paris?")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["tools": .array([.object(JinjaObject([("type", .string("function")), ("function", .object(JinjaObject([("name", .string("get_weather")), ("description", .string("Get the weather for a city. Use \"metric\" units.")), ("parameters", .object(JinjaObject([("type", .string("object")), ("properties", .object(JinjaObject([("city", .object(JinjaObject([("type", .string("string")), ("description", .string("City name, e.g. Zürich"))]))), ("days", .object(JinjaObject([("type", .string("integer")), ("minimum", .int(1))])))]))), ("required", .array([.string("city")]))])))])))]))]), "tools_in_user_message": .bool(false)], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou have access to the following functions. To call a function, please respond with JSON for a function call.Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",\n        \"description\": \"Get the weather for a city. Use \\\"metric\\\" units.\",\n        \"parameters\": {\n            \"type\": \"object\",\n            \"properties\": {\n                \"city\": {\n                    \"type\": \"string\",\n                    \"description\": \"City name, e.g. Zürich\"\n                },\n                \"days\": {\n                    \"type\": \"integer\",\n                    \"minimum\": 1\n                }\n            },\n            \"required\": [\n                \"city\"\n            ]\n        }\n    }\n}\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWeather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_1 date_string", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("01 Jan 2025")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 01 Jan 2025\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_1 tool message", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "user", content: "Run it"), ChatMessage(role: "tool", content: "{\"temp\": 21}")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nRun it<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n\"{\\\"temp\\\": 21}\"<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_1 builtin tools", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "user", content: "Go")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["builtin_tools": .array([.string("code_interpreter"), .string("brave_search")])], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nTools: brave_search\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nGo<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 tools default system", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "user", content: "Weather in Paris?")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: ["tools": .array([.object(JinjaObject([("type", .string("function")), ("function", .object(JinjaObject([("name", .string("get_weather")), ("description", .string("Get the weather for a city. Use \"metric\" units.")), ("parameters", .object(JinjaObject([("type", .string("object")), ("properties", .object(JinjaObject([("city", .object(JinjaObject([("type", .string("string")), ("description", .string("City name, e.g. Zürich"))]))), ("days", .object(JinjaObject([("type", .string("integer")), ("minimum", .int(1))])))]))), ("required", .array([.string("city")]))])))])))]))])], expected: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the weather for a city. Use \\\"metric\\\" units.\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"description\": \"City name, e.g. Zürich\"}, \"days\": {\"type\": \"integer\", \"minimum\": 1}}, \"required\": [\"city\"]}}}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 tools with system", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Weather in Paris?")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: ["tools": .array([.object(JinjaObject([("type", .string("function")), ("function", .object(JinjaObject([("name", .string("get_weather")), ("description", .string("Get the weather for a city. Use \"metric\" units.")), ("parameters", .object(JinjaObject([("type", .string("object")), ("properties", .object(JinjaObject([("city", .object(JinjaObject([("type", .string("string")), ("description", .string("City name, e.g. Zürich"))]))), ("days", .object(JinjaObject([("type", .string("integer")), ("minimum", .int(1))])))]))), ("required", .array([.string("city")]))])))])))]))])], expected: "<|im_start|>system\nBe brief.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the weather for a city. Use \\\"metric\\\" units.\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"description\": \"City name, e.g. Zürich\"}, \"days\": {\"type\": \"integer\", \"minimum\": 1}}, \"required\": [\"city\"]}}}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "llama3_2 tools", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "user", content: "Weather in Paris?")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["tools": .array([.object(JinjaObject([("type", .string("function")), ("function", .object(JinjaObject([("name", .string("get_weather")), ("description", .string("Get the weather for a city. Use \"metric\" units.")), ("parameters", .object(JinjaObject([("type", .string("object")), ("properties", .object(JinjaObject([("city", .object(JinjaObject([("type", .string("string")), ("description", .string("City name, e.g. Zürich"))]))), ("days", .object(JinjaObject([("type", .string("integer")), ("minimum", .int(1))])))]))), ("required", .array([.string("city")]))])))])))]))]), "date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\nRespond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"get_weather\",\n        \"description\": \"Get the weather for a city. Use \\\"metric\\\" units.\",\n        \"parameters\": {\n            \"type\": \"object\",\n            \"properties\": {\n                \"city\": {\n                    \"type\": \"string\",\n                    \"description\": \"City name, e.g. Zürich\"\n                },\n                \"days\": {\n                    \"type\": \"integer\",\n                    \"minimum\": 1\n                }\n            },\n            \"required\": [\n                \"city\"\n            ]\n        }\n    }\n}\n\nWeather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "mistral7b tools", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "user", content: "Weather in Paris?")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["tools": .array([.object(JinjaObject([("type", .string("function")), ("function", .object(JinjaObject([("name", .string("get_weather")), ("description", .string("Get the weather for a city. Use \"metric\" units.")), ("parameters", .object(JinjaObject([("type", .string("object")), ("properties", .object(JinjaObject([("city", .object(JinjaObject([("type", .string("string")), ("description", .string("City name, e.g. Zürich"))]))), ("days", .object(JinjaObject([("type", .string("integer")), ("minimum", .int(1))])))]))), ("required", .array([.string("city")]))])))])))]))])], expected: "<s>[AVAILABLE_TOOLS][{'type': 'function', 'function': {'name': 'get_weather', 'description': 'Get the weather for a city. Use \"metric\" units.', 'parameters': {'type': 'object', 'properties': {'city': {'type': 'string', 'description': 'City name, e.g. Zürich'}, 'days': {'type': 'integer', 'minimum': 1}}, 'required': ['city']}}}][/AVAILABLE_TOOLS][INST]Weather in Paris?[/INST]", error: nil),
        ChatTemplateCase(label: "granite3_3 tools", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "user", content: "Weather in Paris?")], addGenerationPrompt: true, bosToken: "", eosToken: "<|end_of_text|>", extra: ["tools": .array([.object(JinjaObject([("type", .string("function")), ("function", .object(JinjaObject([("name", .string("get_weather")), ("description", .string("Get the weather for a city. Use \"metric\" units.")), ("parameters", .object(JinjaObject([("type", .string("object")), ("properties", .object(JinjaObject([("city", .object(JinjaObject([("type", .string("string")), ("description", .string("City name, e.g. Zürich"))]))), ("days", .object(JinjaObject([("type", .string("integer")), ("minimum", .int(1))])))]))), ("required", .array([.string("city")]))])))])))]))])], expected: "<|start_of_role|>system<|end_of_role|>Knowledge Cutoff Date: April 2024.\nToday's Date: November 29, 2026.\nYou are Granite, developed by IBM. You are a helpful assistant with access to the following tools. When a tool is required to answer the user's query, respond only with <|tool_call|> followed by a JSON list of tools used. If a tool does not exist in the provided list of tools, notify the user that you do not have the ability to fulfill the request.<|end_of_text|>\n<|start_of_role|>available_tools<|end_of_role|>[\n    {\n        \"type\": \"function\",\n        \"function\": {\n            \"name\": \"get_weather\",\n            \"description\": \"Get the weather for a city. Use \\\"metric\\\" units.\",\n            \"parameters\": {\n                \"type\": \"object\",\n                \"properties\": {\n                    \"city\": {\n                        \"type\": \"string\",\n                        \"description\": \"City name, e.g. Zürich\"\n                    },\n                    \"days\": {\n                        \"type\": \"integer\",\n                        \"minimum\": 1\n                    }\n                },\n                \"required\": [\n                    \"city\"\n                ]\n            }\n        }\n    }\n]<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>Weather in Paris?<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>", error: nil),
        ChatTemplateCase(label: "qwen3_coder tools", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Weather in Paris?")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: ["tools": .array([.object(JinjaObject([("type", .string("function")), ("function", .object(JinjaObject([("name", .string("get_weather")), ("description", .string("Get the weather for a city. Use \"metric\" units.")), ("parameters", .object(JinjaObject([("type", .string("object")), ("properties", .object(JinjaObject([("city", .object(JinjaObject([("type", .string("string")), ("description", .string("City name, e.g. Zürich"))]))), ("days", .object(JinjaObject([("type", .string("integer")), ("minimum", .int(1))])))]))), ("required", .array([.string("city")]))])))])))]))])], expected: "<|im_start|>system\nBe brief.\n\nYou have access to the following functions:\n\n<tools>\n<function>\n<name>get_weather</name>\n<description>Get the weather for a city. Use \"metric\" units.</description>\n<parameters>\n<parameter>\n<name>city</name>\n<type>string</type>\n<description>City name, e.g. Zürich</description>\n</parameter>\n<parameter>\n<name>days</name>\n<type>integer</type>\n<minimum>1</minimum>\n</parameter>\n<required>[`city`]</required>\n</parameters>\n</function>\n</tools>\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified format: an inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n- Required parameters MUST be specified\n- You may provide optional reasoning for your function call in natural language BEFORE the function call, but NOT after\n- If there is no function call available, answer the question like normal with your current knowledge and do not tell the user about function calls\n</IMPORTANT><|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm3 xml tools", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Weather in Paris?")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: ["xml_tools": .array([.object(JinjaObject([("type", .string("function")), ("function", .object(JinjaObject([("name", .string("get_weather")), ("description", .string("Get the weather for a city. Use \"metric\" units.")), ("parameters", .object(JinjaObject([("type", .string("object")), ("properties", .object(JinjaObject([("city", .object(JinjaObject([("type", .string("string")), ("description", .string("City name, e.g. Zürich"))]))), ("days", .object(JinjaObject([("type", .string("integer")), ("minimum", .int(1))])))]))), ("required", .array([.string("city")]))])))])))]))]), "date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nBe brief.\n\n### Tools\n\nYou may call one or more functions to assist with the user query.\nYou are provided with function signatures within <tools></tools> XML tags:\n\n<tools>\n{'type': 'function', 'function': {'name': 'get_weather', 'description': 'Get the weather for a city. Use \"metric\" units.', 'parameters': {'type': 'object', 'properties': {'city': {'type': 'string', 'description': 'City name, e.g. Zürich'}, 'days': {'type': 'integer', 'minimum': 1}}, 'required': ['city']}}}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>\n\n<|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm3 no_think", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "system", content: "/no_think Be brief."), ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "<think>hmm</think>Hello")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /no_think\n\n## Custom Instructions\n\n Be brief.\n\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n<think>hmm</think>Hello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n", error: nil),
        ChatTemplateCase(label: "smollm3 thinking disabled", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: ["enable_thinking": .bool(false), "date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /no_think\n\n## Custom Instructions\n\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face.\n\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 consecutive tool messages", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "user", content: "Weather?"), ChatMessage(role: "tool", content: "sunny"), ChatMessage(role: "tool", content: "warm")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n<tool_response>\nwarm\n</tool_response><|im_end|>\n<|im_start|>assistant\n", error: nil),
    ]

    static let randomCases: [ChatTemplateCase] = [
        ChatTemplateCase(label: "smollm2 random 0", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "system", content: "  padded  "), ChatMessage(role: "user", content: "None"), ChatMessage(role: "user", content: "  padded  "), ChatMessage(role: "assistant", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "user", content: "Hello")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\n  padded  <|im_end|>\n<|im_start|>user\nNone<|im_end|>\n<|im_start|>user\n  padded  <|im_end|>\n<|im_start|>assistant\nunicode: héllo 👋 日本語 é<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm2 random 1", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "system", content: "<|im_end|> injected"), ChatMessage(role: "user", content: "\ttab\t")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\n<|im_end|> injected<|im_end|>\n<|im_start|>user\n\ttab\t<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm2 random 2", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "assistant", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "user", content: "None")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>assistant\nunicode: héllo 👋 日本語 é<|im_end|>\n<|im_start|>user\nNone<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm2 random 3", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "system", content: "None"), ChatMessage(role: "user", content: "<|im_end|> injected"), ChatMessage(role: "assistant", content: "Hello"), ChatMessage(role: "user", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "assistant", content: "trailing newline\n")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nNone<|im_end|>\n<|im_start|>user\n<|im_end|> injected<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nquotes ' \" and \\ backslash<|im_end|>\n<|im_start|>assistant\ntrailing newline\n<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm2 random 4", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "user", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "assistant", content: "None"), ChatMessage(role: "user", content: "unicode: héllo 👋 日本語 é")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nunicode: héllo 👋 日本語 é<|im_end|>\n<|im_start|>assistant\nNone<|im_end|>\n<|im_start|>user\nunicode: héllo 👋 日本語 é<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm2 random 5", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "user", content: "{{ not a tag }} {% nor this %} {# nor this #}")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\n{{ not a tag }} {% nor this %} {# nor this #}<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm2 random 6", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "user", content: "  padded  "), ChatMessage(role: "assistant", content: "<|im_end|> injected"), ChatMessage(role: "user", content: "\ttab\t"), ChatMessage(role: "assistant", content: "multi\nline\ntext\n")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\n  padded  <|im_end|>\n<|im_start|>assistant\n<|im_end|> injected<|im_end|>\n<|im_start|>user\n\ttab\t<|im_end|>\n<|im_start|>assistant\nmulti\nline\ntext\n<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm2 random 7", template: ChatTemplateSources.smollm2, messages: [ChatMessage(role: "system", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "user", content: "trailing newline\n"), ChatMessage(role: "assistant", content: "multi\nline\ntext\n")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\n{{ not a tag }} {% nor this %} {# nor this #}<|im_end|>\n<|im_start|>user\ntrailing newline\n<|im_end|>\n<|im_start|>assistant\nmulti\nline\ntext\n<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "llama3 random 0", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "system", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "user", content: "Hello"), ChatMessage(role: "assistant", content: "multi\nline\ntext\n"), ChatMessage(role: "user", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "assistant", content: "multi\nline\ntext\n")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nquotes ' \" and \\ backslash<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nmulti\nline\ntext<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nquotes ' \" and \\ backslash<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nmulti\nline\ntext<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3 random 1", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "user", content: "<|im_end|> injected"), ChatMessage(role: "assistant", content: "")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|im_end|> injected<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3 random 2", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "system", content: "\ttab\t"), ChatMessage(role: "user", content: " \n "), ChatMessage(role: "assistant", content: "\ttab\t"), ChatMessage(role: "user", content: "<|im_end|> injected"), ChatMessage(role: "assistant", content: "multi\nline\ntext\n")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\ntab<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\ntab<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n<|im_end|> injected<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nmulti\nline\ntext<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3 random 3", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "system", content: "  padded  "), ChatMessage(role: "user", content: ""), ChatMessage(role: "assistant", content: ""), ChatMessage(role: "user", content: " \n "), ChatMessage(role: "assistant", content: "  padded  ")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\npadded<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\npadded<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3 random 4", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "user", content: "None")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nNone<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3 random 5", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "system", content: "0"), ChatMessage(role: "user", content: "multi\nline\ntext\n"), ChatMessage(role: "assistant", content: "<|im_end|> injected")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n0<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nmulti\nline\ntext<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|im_end|> injected<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3 random 6", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "assistant", content: " \n "), ChatMessage(role: "assistant", content: "0"), ChatMessage(role: "user", content: "  padded  ")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n0<|eot_id|><|start_header_id|>user<|end_header_id|>\n\npadded<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3 random 7", template: ChatTemplateSources.llama3, messages: [ChatMessage(role: "user", content: "trailing newline\n")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\ntrailing newline<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_1 random 0", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "system", content: "\ttab\t"), ChatMessage(role: "user", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "assistant", content: "  padded  "), ChatMessage(role: "user", content: "0")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\ntab<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nquotes ' \" and \\ backslash<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\npadded<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n0<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_1 random 1", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "system", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "user", content: "\ttab\t"), ChatMessage(role: "assistant", content: "trailing newline\n")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nunicode: héllo 👋 日本語 é<|eot_id|><|start_header_id|>user<|end_header_id|>\n\ntab<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\ntrailing newline<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_1 random 2", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "user", content: "0"), ChatMessage(role: "assistant", content: ""), ChatMessage(role: "user", content: "multi\nline\ntext\n")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n0<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nmulti\nline\ntext<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_1 random 3", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "system", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "user", content: "\ttab\t"), ChatMessage(role: "assistant", content: " \n ")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n{{ not a tag }} {% nor this %} {# nor this #}<|eot_id|><|start_header_id|>user<|end_header_id|>\n\ntab<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_1 random 4", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "system", content: "multi\nline\ntext\n"), ChatMessage(role: "user", content: "multi\nline\ntext\n"), ChatMessage(role: "assistant", content: "multi\nline\ntext\n"), ChatMessage(role: "user", content: "trailing newline\n"), ChatMessage(role: "assistant", content: "  padded  ")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nmulti\nline\ntext<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nmulti\nline\ntext<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nmulti\nline\ntext<|eot_id|><|start_header_id|>user<|end_header_id|>\n\ntrailing newline<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\npadded<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_1 random 5", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "system", content: "None"), ChatMessage(role: "user", content: "  padded  "), ChatMessage(role: "assistant", content: " \n ")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nNone<|eot_id|><|start_header_id|>user<|end_header_id|>\n\npadded<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_1 random 6", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "system", content: ""), ChatMessage(role: "user", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "assistant", content: "None")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nunicode: héllo 👋 日本語 é<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nNone<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_1 random 7", template: ChatTemplateSources.llama3_1, messages: [ChatMessage(role: "assistant", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "user", content: "trailing newline\n"), ChatMessage(role: "user", content: " \n ")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: [:], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{{ not a tag }} {% nor this %} {# nor this #}<|eot_id|><|start_header_id|>user<|end_header_id|>\n\ntrailing newline<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_2 random 0", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "user", content: "trailing newline\n"), ChatMessage(role: "assistant", content: "  padded  "), ChatMessage(role: "user", content: "0"), ChatMessage(role: "assistant", content: "")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\ntrailing newline<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\npadded<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n0<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_2 random 1", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "user", content: "Hello"), ChatMessage(role: "assistant", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "user", content: "\ttab\t")], addGenerationPrompt: true, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n{{ not a tag }} {% nor this %} {# nor this #}<|eot_id|><|start_header_id|>user<|end_header_id|>\n\ntab<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", error: nil),
        ChatTemplateCase(label: "llama3_2 random 2", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "system", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "user", content: "\ttab\t"), ChatMessage(role: "assistant", content: ""), ChatMessage(role: "user", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "assistant", content: "")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nquotes ' \" and \\ backslash<|eot_id|><|start_header_id|>user<|end_header_id|>\n\ntab<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nquotes ' \" and \\ backslash<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_2 random 3", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "system", content: "None"), ChatMessage(role: "user", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "assistant", content: "<|im_end|> injected"), ChatMessage(role: "user", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "assistant", content: "None")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nNone<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nquotes ' \" and \\ backslash<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|im_end|> injected<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n{{ not a tag }} {% nor this %} {# nor this #}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nNone<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_2 random 4", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "system", content: "<|im_end|> injected"), ChatMessage(role: "user", content: "None"), ChatMessage(role: "assistant", content: "\ttab\t")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|im_end|> injected<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nNone<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\ntab<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_2 random 5", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "user", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "assistant", content: " \n "), ChatMessage(role: "user", content: "\ttab\t"), ChatMessage(role: "assistant", content: "  padded  ")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n{{ not a tag }} {% nor this %} {# nor this #}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\ntab<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\npadded<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_2 random 6", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "user", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "assistant", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "user", content: "None")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nquotes ' \" and \\ backslash<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nquotes ' \" and \\ backslash<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nNone<|eot_id|>", error: nil),
        ChatTemplateCase(label: "llama3_2 random 7", template: ChatTemplateSources.llama3_2, messages: [ChatMessage(role: "user", content: "trailing newline\n"), ChatMessage(role: "assistant", content: "  padded  "), ChatMessage(role: "user", content: "{{ not a tag }} {% nor this %} {# nor this #}")], addGenerationPrompt: false, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\ntrailing newline<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\npadded<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n{{ not a tag }} {% nor this %} {# nor this #}<|eot_id|>", error: nil),
        ChatTemplateCase(label: "gemma2 random 0", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "user", content: "trailing newline\n"), ChatMessage(role: "assistant", content: "<|im_end|> injected"), ChatMessage(role: "user", content: "<|im_end|> injected")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\ntrailing newline<end_of_turn>\n<start_of_turn>model\n<|im_end|> injected<end_of_turn>\n<start_of_turn>user\n<|im_end|> injected<end_of_turn>\n", error: nil),
        ChatTemplateCase(label: "gemma2 random 1", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "system", content: "multi\nline\ntext\n"), ChatMessage(role: "assistant", content: "Hello"), ChatMessage(role: "user", content: "unicode: héllo 👋 日本語 é")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: nil, error: "System role not supported"),
        ChatTemplateCase(label: "gemma2 random 2", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "user", content: "trailing newline\n"), ChatMessage(role: "assistant", content: "  padded  "), ChatMessage(role: "user", content: " \n ")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\ntrailing newline<end_of_turn>\n<start_of_turn>model\npadded<end_of_turn>\n<start_of_turn>user\n<end_of_turn>\n", error: nil),
        ChatTemplateCase(label: "gemma2 random 3", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "user", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "user", content: "None"), ChatMessage(role: "user", content: "None")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: nil, error: "Conversation roles must alternate user/assistant/user/assistant/..."),
        ChatTemplateCase(label: "gemma2 random 4", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "system", content: "\ttab\t"), ChatMessage(role: "user", content: "None"), ChatMessage(role: "assistant", content: "multi\nline\ntext\n")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: nil, error: "System role not supported"),
        ChatTemplateCase(label: "gemma2 random 5", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "system", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "user", content: "trailing newline\n")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: nil, error: "System role not supported"),
        ChatTemplateCase(label: "gemma2 random 6", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "user", content: "0"), ChatMessage(role: "assistant", content: "trailing newline\n"), ChatMessage(role: "user", content: "<|im_end|> injected"), ChatMessage(role: "assistant", content: "trailing newline\n")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\n0<end_of_turn>\n<start_of_turn>model\ntrailing newline<end_of_turn>\n<start_of_turn>user\n<|im_end|> injected<end_of_turn>\n<start_of_turn>model\ntrailing newline<end_of_turn>\n", error: nil),
        ChatTemplateCase(label: "gemma2 random 7", template: ChatTemplateSources.gemma2, messages: [ChatMessage(role: "system", content: "  padded  "), ChatMessage(role: "assistant", content: "Hello"), ChatMessage(role: "user", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "user", content: "<|im_end|> injected"), ChatMessage(role: "user", content: "{{ not a tag }} {% nor this %} {# nor this #}")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: nil, error: "System role not supported"),
        ChatTemplateCase(label: "gemma3 random 0", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "user", content: "\ttab\t"), ChatMessage(role: "user", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "assistant", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "user", content: "\ttab\t")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: nil, error: "Conversation roles must alternate user/assistant/user/assistant/..."),
        ChatTemplateCase(label: "gemma3 random 1", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "user", content: "0"), ChatMessage(role: "assistant", content: "{{ not a tag }} {% nor this %} {# nor this #}")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\n0<end_of_turn>\n<start_of_turn>model\n{{ not a tag }} {% nor this %} {# nor this #}<end_of_turn>\n", error: nil),
        ChatTemplateCase(label: "gemma3 random 2", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "system", content: "None"), ChatMessage(role: "user", content: " \n "), ChatMessage(role: "assistant", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "user", content: "<|im_end|> injected"), ChatMessage(role: "assistant", content: "<|im_end|> injected")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nNone\n\n<end_of_turn>\n<start_of_turn>model\nunicode: héllo 👋 日本語 é<end_of_turn>\n<start_of_turn>user\n<|im_end|> injected<end_of_turn>\n<start_of_turn>model\n<|im_end|> injected<end_of_turn>\n", error: nil),
        ChatTemplateCase(label: "gemma3 random 3", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "user", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "assistant", content: "None")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nquotes ' \" and \\ backslash<end_of_turn>\n<start_of_turn>model\nNone<end_of_turn>\n", error: nil),
        ChatTemplateCase(label: "gemma3 random 4", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "system", content: "0"), ChatMessage(role: "user", content: ""), ChatMessage(role: "assistant", content: ""), ChatMessage(role: "user", content: " \n "), ChatMessage(role: "assistant", content: "{{ not a tag }} {% nor this %} {# nor this #}")], addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\n0\n\n<end_of_turn>\n<start_of_turn>model\n<end_of_turn>\n<start_of_turn>user\n<end_of_turn>\n<start_of_turn>model\n{{ not a tag }} {% nor this %} {# nor this #}<end_of_turn>\n<start_of_turn>model\n", error: nil),
        ChatTemplateCase(label: "gemma3 random 5", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "user", content: "quotes ' \" and \\ backslash")], addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\nquotes ' \" and \\ backslash<end_of_turn>\n<start_of_turn>model\n", error: nil),
        ChatTemplateCase(label: "gemma3 random 6", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "user", content: "<|im_end|> injected")], addGenerationPrompt: true, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: "<bos><start_of_turn>user\n<|im_end|> injected<end_of_turn>\n<start_of_turn>model\n", error: nil),
        ChatTemplateCase(label: "gemma3 random 7", template: ChatTemplateSources.gemma3, messages: [ChatMessage(role: "system", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "assistant", content: "0"), ChatMessage(role: "user", content: "\ttab\t")], addGenerationPrompt: false, bosToken: "<bos>", eosToken: "<eos>", extra: [:], expected: nil, error: "Conversation roles must alternate user/assistant/user/assistant/..."),
        ChatTemplateCase(label: "qwen2_5 random 0", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "assistant", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "user", content: "\ttab\t")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>assistant\nunicode: héllo 👋 日本語 é<|im_end|>\n<|im_start|>user\n\ttab\t<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 random 1", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "system", content: "0"), ChatMessage(role: "user", content: ""), ChatMessage(role: "assistant", content: "trailing newline\n")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\n0<|im_end|>\n<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\ntrailing newline\n<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 random 2", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "user", content: "0"), ChatMessage(role: "assistant", content: "0"), ChatMessage(role: "user", content: " \n "), ChatMessage(role: "assistant", content: "0")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n0<|im_end|>\n<|im_start|>assistant\n0<|im_end|>\n<|im_start|>user\n \n <|im_end|>\n<|im_start|>assistant\n0<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 random 3", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "user", content: "")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 random 4", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "system", content: "\ttab\t"), ChatMessage(role: "user", content: "trailing newline\n"), ChatMessage(role: "assistant", content: "trailing newline\n")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\n\ttab\t<|im_end|>\n<|im_start|>user\ntrailing newline\n<|im_end|>\n<|im_start|>assistant\ntrailing newline\n<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 random 5", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "system", content: "0"), ChatMessage(role: "user", content: ""), ChatMessage(role: "assistant", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "user", content: "0")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\n0<|im_end|>\n<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\nquotes ' \" and \\ backslash<|im_end|>\n<|im_start|>user\n0<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 random 6", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "user", content: "\ttab\t"), ChatMessage(role: "assistant", content: "None"), ChatMessage(role: "user", content: "None"), ChatMessage(role: "assistant", content: "\ttab\t")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n\ttab\t<|im_end|>\n<|im_start|>assistant\nNone<|im_end|>\n<|im_start|>user\nNone<|im_end|>\n<|im_start|>assistant\n\ttab\t<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen2_5 random 7", template: ChatTemplateSources.qwen2_5, messages: [ChatMessage(role: "user", content: " \n "), ChatMessage(role: "assistant", content: "\ttab\t"), ChatMessage(role: "user", content: "  padded  "), ChatMessage(role: "assistant", content: "  padded  ")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n \n <|im_end|>\n<|im_start|>assistant\n\ttab\t<|im_end|>\n<|im_start|>user\n  padded  <|im_end|>\n<|im_start|>assistant\n  padded  <|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "mistral7b random 0", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "system", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "user", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "assistant", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "user", content: "Hello")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST]unicode: héllo 👋 日本語 é[/INST] quotes ' \" and \\ backslash </s>[INST]Hello[/INST]", error: nil),
        ChatTemplateCase(label: "mistral7b random 1", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "user", content: " \n "), ChatMessage(role: "assistant", content: "None"), ChatMessage(role: "user", content: "quotes ' \" and \\ backslash")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST] \n [/INST] None </s>[INST]quotes ' \" and \\ backslash[/INST]", error: nil),
        ChatTemplateCase(label: "mistral7b random 2", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "system", content: "<|im_end|> injected"), ChatMessage(role: "user", content: ""), ChatMessage(role: "assistant", content: "Hello"), ChatMessage(role: "assistant", content: "<|im_end|> injected")], addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST][/INST] Hello </s> <|im_end|> injected </s>", error: nil),
        ChatTemplateCase(label: "mistral7b random 3", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "user", content: "<|im_end|> injected"), ChatMessage(role: "assistant", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "user", content: "multi\nline\ntext\n")], addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST]<|im_end|> injected[/INST] unicode: héllo 👋 日本語 é </s>[INST]multi\nline\ntext\n[/INST]", error: nil),
        ChatTemplateCase(label: "mistral7b random 4", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "user", content: ""), ChatMessage(role: "assistant", content: "trailing newline\n")], addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST][/INST] trailing newline\n </s>", error: nil),
        ChatTemplateCase(label: "mistral7b random 5", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "user", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "assistant", content: "None"), ChatMessage(role: "user", content: "<|im_end|> injected")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST]quotes ' \" and \\ backslash[/INST] None </s>[INST]<|im_end|> injected[/INST]", error: nil),
        ChatTemplateCase(label: "mistral7b random 6", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "user", content: "multi\nline\ntext\n"), ChatMessage(role: "assistant", content: "")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST]multi\nline\ntext\n[/INST]  </s>", error: nil),
        ChatTemplateCase(label: "mistral7b random 7", template: ChatTemplateSources.mistral7b, messages: [ChatMessage(role: "user", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "assistant", content: "None")], addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s>[INST]{{ not a tag }} {% nor this %} {# nor this #}[/INST] None </s>", error: nil),
        ChatTemplateCase(label: "granite3_3 random 0", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "user", content: ""), ChatMessage(role: "assistant", content: " \n "), ChatMessage(role: "user", content: "  padded  "), ChatMessage(role: "assistant", content: "0")], addGenerationPrompt: false, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>Knowledge Cutoff Date: April 2024.\nToday's Date: November 29, 2026.\nYou are Granite, developed by IBM. You are a helpful AI assistant.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|><|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|> \n <|end_of_text|>\n<|start_of_role|>user<|end_of_role|>  padded  <|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>0<|end_of_text|>\n", error: nil),
        ChatTemplateCase(label: "granite3_3 random 1", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "system", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "assistant", content: "0")], addGenerationPrompt: false, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>unicode: héllo 👋 日本語 é<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>0<|end_of_text|>\n", error: nil),
        ChatTemplateCase(label: "granite3_3 random 2", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "assistant", content: "trailing newline\n"), ChatMessage(role: "assistant", content: "trailing newline\n"), ChatMessage(role: "assistant", content: " \n "), ChatMessage(role: "user", content: "quotes ' \" and \\ backslash")], addGenerationPrompt: false, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>Knowledge Cutoff Date: April 2024.\nToday's Date: November 29, 2026.\nYou are Granite, developed by IBM. You are a helpful AI assistant.<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>trailing newline\n<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>trailing newline\n<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|> \n <|end_of_text|>\n<|start_of_role|>user<|end_of_role|>quotes ' \" and \\ backslash<|end_of_text|>\n", error: nil),
        ChatTemplateCase(label: "granite3_3 random 3", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "user", content: "multi\nline\ntext\n")], addGenerationPrompt: true, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>Knowledge Cutoff Date: April 2024.\nToday's Date: November 29, 2026.\nYou are Granite, developed by IBM. You are a helpful AI assistant.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>multi\nline\ntext\n<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>", error: nil),
        ChatTemplateCase(label: "granite3_3 random 4", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "system", content: "multi\nline\ntext\n"), ChatMessage(role: "user", content: "\ttab\t"), ChatMessage(role: "assistant", content: "<|im_end|> injected"), ChatMessage(role: "user", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "assistant", content: "0")], addGenerationPrompt: true, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>multi\nline\ntext\n<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>\ttab\t<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|><|im_end|> injected<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>quotes ' \" and \\ backslash<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>0<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>", error: nil),
        ChatTemplateCase(label: "granite3_3 random 5", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "system", content: " \n "), ChatMessage(role: "user", content: "\ttab\t"), ChatMessage(role: "assistant", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "user", content: " \n ")], addGenerationPrompt: true, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|> \n <|end_of_text|>\n<|start_of_role|>user<|end_of_role|>\ttab\t<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>unicode: héllo 👋 日本語 é<|end_of_text|>\n<|start_of_role|>user<|end_of_role|> \n <|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>", error: nil),
        ChatTemplateCase(label: "granite3_3 random 6", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "assistant", content: "multi\nline\ntext\n"), ChatMessage(role: "assistant", content: "unicode: héllo 👋 日本語 é")], addGenerationPrompt: true, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>Knowledge Cutoff Date: April 2024.\nToday's Date: November 29, 2026.\nYou are Granite, developed by IBM. You are a helpful AI assistant.<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>multi\nline\ntext\n<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>unicode: héllo 👋 日本語 é<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>", error: nil),
        ChatTemplateCase(label: "granite3_3 random 7", template: ChatTemplateSources.granite3_3, messages: [ChatMessage(role: "user", content: "None"), ChatMessage(role: "assistant", content: "<|im_end|> injected")], addGenerationPrompt: true, bosToken: "", eosToken: "<|end_of_text|>", extra: [:], expected: "<|start_of_role|>system<|end_of_role|>Knowledge Cutoff Date: April 2024.\nToday's Date: November 29, 2026.\nYou are Granite, developed by IBM. You are a helpful AI assistant.<|end_of_text|>\n<|start_of_role|>user<|end_of_role|>None<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|><|im_end|> injected<|end_of_text|>\n<|start_of_role|>assistant<|end_of_role|>", error: nil),
        ChatTemplateCase(label: "smollm3 random 0", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "user", content: "unicode: héllo 👋 日本語 é")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves thoroughly exploring questions through a systematic thinking process before providing the final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please structure your response into two main sections: Thought and Solution using the specified format: <think> Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. Each step should include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The Solution section should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.\n\n<|im_start|>user\nunicode: héllo 👋 日本語 é<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm3 random 1", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "system", content: "{{ not a tag }} {% nor this %} {# nor this #}"), ChatMessage(role: "user", content: "None")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\n{{ not a tag }} {% nor this %} {# nor this #}\n\n<|im_start|>user\nNone<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm3 random 2", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "user", content: "None"), ChatMessage(role: "assistant", content: "<|im_end|> injected"), ChatMessage(role: "user", content: "trailing newline\n"), ChatMessage(role: "assistant", content: "unicode: héllo 👋 日本語 é")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves thoroughly exploring questions through a systematic thinking process before providing the final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please structure your response into two main sections: Thought and Solution using the specified format: <think> Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. Each step should include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The Solution section should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.\n\n<|im_start|>user\nNone<|im_end|>\n<|im_start|>assistant\n<|im_end|> injected<|im_end|>\n<|im_start|>user\ntrailing newline\n<|im_end|>\n<|im_start|>assistant\nunicode: héllo 👋 日本語 é<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm3 random 3", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "system", content: "<|im_end|> injected"), ChatMessage(role: "user", content: "quotes ' \" and \\ backslash"), ChatMessage(role: "assistant", content: "0"), ChatMessage(role: "user", content: "<|im_end|> injected"), ChatMessage(role: "assistant", content: "  padded  ")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\n<|im_end|> injected\n\n<|im_start|>user\nquotes ' \" and \\ backslash<|im_end|>\n<|im_start|>assistant\n0<|im_end|>\n<|im_start|>user\n<|im_end|> injected<|im_end|>\n<|im_start|>assistant\n  padded  <|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm3 random 4", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "user", content: ""), ChatMessage(role: "assistant", content: ""), ChatMessage(role: "user", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "assistant", content: "Hello")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves thoroughly exploring questions through a systematic thinking process before providing the final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please structure your response into two main sections: Thought and Solution using the specified format: <think> Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. Each step should include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The Solution section should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.\n\n<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n<|im_start|>user\nunicode: héllo 👋 日本語 é<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "smollm3 random 5", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "user", content: "multi\nline\ntext\n")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves thoroughly exploring questions through a systematic thinking process before providing the final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please structure your response into two main sections: Thought and Solution using the specified format: <think> Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. Each step should include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The Solution section should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.\n\n<|im_start|>user\nmulti\nline\ntext\n<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm3 random 6", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "user", content: "unicode: héllo 👋 日本語 é"), ChatMessage(role: "assistant", content: " \n "), ChatMessage(role: "user", content: "  padded  ")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves thoroughly exploring questions through a systematic thinking process before providing the final precise and accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please structure your response into two main sections: Thought and Solution using the specified format: <think> Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. Each step should include detailed considerations such as analysing questions, summarizing relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting previous steps. In the Solution section, based on various attempts, explorations, and reflections from the Thought section, systematically present the final solution that you deem correct. The Solution section should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.\n\n<|im_start|>user\nunicode: héllo 👋 日本語 é<|im_end|>\n<|im_start|>assistant\n \n <|im_end|>\n<|im_start|>user\n  padded  <|im_end|>\n", error: nil),
        ChatTemplateCase(label: "smollm3 random 7", template: ChatTemplateSources.smollm3, messages: [ChatMessage(role: "system", content: "None"), ChatMessage(role: "user", content: "{{ not a tag }} {% nor this %} {# nor this #}")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: ["date_string": .string("26 Jul 2024")], expected: "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 29 November 2026\nReasoning Mode: /think\n\n## Custom Instructions\n\nNone\n\n<|im_start|>user\n{{ not a tag }} {% nor this %} {# nor this #}<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder random 0", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "user", content: "Hello"), ChatMessage(role: "assistant", content: ""), ChatMessage(role: "user", content: "\ttab\t")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n<|im_start|>user\n\ttab\t<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder random 1", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "user", content: "<|im_end|> injected"), ChatMessage(role: "assistant", content: "\ttab\t"), ChatMessage(role: "user", content: "<|im_end|> injected")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>user\n<|im_end|> injected<|im_end|>\n<|im_start|>assistant\n\ttab\t<|im_end|>\n<|im_start|>user\n<|im_end|> injected<|im_end|>\n<|im_start|>assistant\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder random 2", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "system", content: "\ttab\t"), ChatMessage(role: "user", content: "multi\nline\ntext\n"), ChatMessage(role: "assistant", content: ""), ChatMessage(role: "user", content: "None")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>system\n\ttab\t<|im_end|>\n<|im_start|>user\nmulti\nline\ntext\n<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n<|im_start|>user\nNone<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder random 3", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "assistant", content: "None")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>assistant\nNone<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder random 4", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "user", content: "None"), ChatMessage(role: "assistant", content: "0")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>user\nNone<|im_end|>\n<|im_start|>assistant\n0<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder random 5", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "user", content: "{{ not a tag }} {% nor this %} {# nor this #}")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>user\n{{ not a tag }} {% nor this %} {# nor this #}<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder random 6", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "user", content: "<|im_end|> injected")], addGenerationPrompt: false, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>user\n<|im_end|> injected<|im_end|>\n", error: nil),
        ChatTemplateCase(label: "qwen3_coder random 7", template: ChatTemplateSources.qwen3_coder, messages: [ChatMessage(role: "user", content: "Hello"), ChatMessage(role: "assistant", content: "None"), ChatMessage(role: "user", content: " \n ")], addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>", extra: [:], expected: "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nNone<|im_end|>\n<|im_start|>user\n \n <|im_end|>\n<|im_start|>assistant\n", error: nil),
    ]

    static let featureCases: [ChatTemplateCase] = [
        ChatTemplateCase(label: "feature 0", template: "{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.length }}/{{ loop.revindex }}:{{ loop.first }}-{{ loop.last }};{% endfor %}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "1/0/4/4:True-False;2/1/4/3:False-False;3/2/4/2:False-False;4/3/4/1:False-True;", error: nil),
        ChatTemplateCase(label: "feature 1", template: "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}|{% for k, v in d|items %}{{ k }}{% endfor %}|{% for k in d %}{{ k }}{% endfor %}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["d": .object(JinjaObject([("b", .int(1)), ("a", .array([.int(1), .int(2)])), ("c", JinjaValue.none)]))], expected: "b=1,a=[1, 2],c=None,|bac|bac", error: nil),
        ChatTemplateCase(label: "feature 2", template: "{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in xs if x > 1 %}{{ x }}{{ loop.index }}{% endfor %}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["xs": .array([.int(1), .int(2), .int(3)])], expected: "empty|2132", error: nil),
        ChatTemplateCase(label: "feature 3", template: "{% set ns = namespace(found=false, n=0) %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.found = true %}{% set ns.n = ns.n + 1 %}{% endif %}{% endfor %}{{ ns.found }} {{ ns.n }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "True 2", error: nil),
        ChatTemplateCase(label: "feature 4", template: "{% set x = 1 %}{% for i in [1, 2] %}{% set x = i * 10 %}[{{ x }}]{% endfor %}{{ x }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "[10][20]1", error: nil),
        ChatTemplateCase(label: "feature 5", template: "{% if a %}A{% elif b %}B{% else %}C{% endif %}{% if not a and not b %}!{% endif %}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["b": .int(0)], expected: "C!", error: nil),
        ChatTemplateCase(label: "feature 6", template: "{{ messages[1:] | length }} {{ messages[-1].content }} {{ messages[0]['role'] }} {{ 'hello'[::-1] }} {{ [1,2,3,4,5][1:4:2] }} {{ 'abc'[5:] }}|", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "3 bye system olleh [2, 4] |", error: nil),
        ChatTemplateCase(label: "feature 7", template: "{{ 7 + 3 }} {{ 7 - 3 }} {{ 7 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 1.5 + 1 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 3.0 }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "10 4 21 3.5 3 -4 1 2 1024 2.5 0.30000000000000004 1e+20 3.0", error: nil),
        ChatTemplateCase(label: "feature 8", template: "{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ 'x' + 'y' }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "a1NoneTrue ababab [1, 2] xy", error: nil),
        ChatTemplateCase(label: "feature 9", template: "{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ 'b' >= 'a' }} {{ [1,2] == [1,2] }} {{ 'ell' in 'hello' }} {{ 3 not in [1,2] }} {{ 'k' in d }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["d": .object(JinjaObject([("k", .int(1))]))], expected: "True True True True True True True True", error: nil),
        ChatTemplateCase(label: "feature 10", template: "{{ x is defined }} {{ y is defined }} {{ y is undefined }} {{ n is none }} {{ n is not none }} {{ s is string }} {{ d is mapping }} {{ l is iterable }} {{ s is iterable }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 1 is number }} {{ 1 is integer }} {{ 1.5 is float }} {{ true is boolean }} {{ s is sameas s }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["x": .int(1), "n": JinjaValue.none, "s": .string("str"), "d": .object(JinjaObject([])), "l": .array([])], expected: "True False True True False True True True True True True True True True True True True", error: nil),
        ChatTemplateCase(label: "feature 11", template: "{{ 'yes' if flag else 'no' }} {{ 'yes' if not flag else 'no' }} [{{ 'only' if false }}]", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["flag": .bool(true)], expected: "yes no []", error: nil),
        ChatTemplateCase(label: "feature 12", template: "[{{ '  hi  ' | trim }}] {{ 'Hi' | upper }} {{ 'Hi' | lower }} {{ 'hello wORLD' | capitalize }} {{ 'hello wORLD-x' | title }} {{ [1,2] | length }} {{ 'héllo' | length }} {{ d | length }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["d": .object(JinjaObject([("a", .int(1))]))], expected: "[hi] HI hi Hello world Hello World-X 2 5 1", error: nil),
        ChatTemplateCase(label: "feature 13", template: "{{ d | tojson }} {{ l | tojson }} {{ 'é\"\\n' | tojson }} {{ none | tojson }} {{ 1.5 | tojson }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["d": .object(JinjaObject([("b", .int(1)), ("a", .string("x")), ("n", JinjaValue.none), ("t", .bool(true))])), "l": .array([.int(1), .string("two"), .array([.int(3)])])], expected: "{\"b\": 1, \"a\": \"x\", \"n\": null, \"t\": true} [1, \"two\", [3]] \"é\\\"\\n\" null 1.5", error: nil),
        ChatTemplateCase(label: "feature 14", template: "{{ d | tojson(indent=2) }}\n{{ d | tojson(separators=(',', ':')) }}\n{{ d | tojson(sort_keys=true) }}\n{{ {} | tojson(indent=4) }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["d": .object(JinjaObject([("z", .array([.int(1), .object(JinjaObject([("y", .array([]))]))])), ("a", .object(JinjaObject([])))]))], expected: "{\n  \"z\": [\n    1,\n    {\n      \"y\": []\n    }\n  ],\n  \"a\": {}\n}\n{\"z\":[1,{\"y\":[]}],\"a\":{}}\n{\"a\": {}, \"z\": [1, {\"y\": []}]}\n{}", error: nil),
        ChatTemplateCase(label: "feature 15", template: "{{ 5 | string }}{{ [1,2] | first }}{{ [1,2] | last }}{{ 'abc' | first }} {{ ['a','b'] | join(', ') }} {{ [1,2,3] | join }} {{ 'a-b-c' | replace('-', '+') }} {{ 'aaa' | replace('a', 'b', 2) }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "512a a, b 123 a+b+c bba", error: nil),
        ChatTemplateCase(label: "feature 16", template: "{{ u | default('dflt') }} {{ '' | default('empty', true) }} {{ 'set' | d('x') }} {{ none | default('n') }} {{ 'abc' | list }} {{ d | list }} {{ d | items | list | length }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["d": .object(JinjaObject([("a", .int(1)), ("b", .int(2))]))], expected: "dflt empty set None ['a', 'b', 'c'] ['a', 'b'] 2", error: nil),
        ChatTemplateCase(label: "feature 17", template: "{{ '  strip  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  l'.lstrip() }}|{{ 'r  '.rstrip() }}|{{ 'a b  c'.split() }}|{{ 'a,b,,c'.split(',') }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'hello'.startswith('he') }}|{{ 'hello'.endswith(('x', 'lo')) }}|{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}|{{ 'banana'.replace('a', 'o') }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "strip|hi|l|r|['a', 'b', 'c']|['a', 'b', '', 'c']|['a', 'b,c']|True|True|HIhi|bonono", error: nil),
        ChatTemplateCase(label: "feature 18", template: "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'fallback') }} {{ d.keys() | list }} {{ d.values() | list }} {% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["d": .object(JinjaObject([("a", .int(1)), ("b", .string("two"))]))], expected: "1 None fallback ['a', 'b'] [1, 'two'] a1btwo", error: nil),
        ChatTemplateCase(label: "feature 19", template: "{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ [1, 2, 2, 3] | unique | list }} {{ [1, 2, 3] | reverse | list }} {{ 'abc' | reverse }} {{ [1, 2, 3] | sum }} {{ [3, 1] | min }} {{ [3, 1] | max }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "[1, 2, 3] ['A', 'b', 'c'] [1, 2, 3] [3, 2, 1] cba 6 1 3", error: nil),
        ChatTemplateCase(label: "feature 20", template: "{{ l | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }} {{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3] | reject('equalto', 2) | list }} {{ ['a', 'b'] | map('upper') | list }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["l": .array([.object(JinjaObject([("role", .string("user")), ("content", .string("a"))])), .object(JinjaObject([("role", .string("bot")), ("content", .string("b"))])), .object(JinjaObject([("role", .string("user")), ("content", .string("c"))]))])], expected: "a,c [1, 3] [1, 3] ['A', 'B']", error: nil),
        ChatTemplateCase(label: "feature 21", template: "{{ '3' | int + 1 }} {{ 3.9 | int }} {{ '2.5' | float }} {{ -3 | abs }} {{ 2.5 | round }} {{ 2.567 | round(2) }} {{ 3 | round }} {{ 'x' | int }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "4 3 2.5 3 2.0 2.57 3 0", error: nil),
        ChatTemplateCase(label: "feature 22", template: "{{ [1, 'a', none, true, 1.5, {'k': [2]}] }} {{ none }} {{ true }} {{ (1, 2) | list | length }} {{ {'a': \"it's\"} }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "[1, 'a', None, True, 1.5, {'k': [2]}] None True 2 {'a': \"it's\"}", error: nil),
        ChatTemplateCase(label: "feature 23", template: "{{ 'line1\\nline2\\n\\nline4' | indent(2) }}|{{ 'a\\nb' | indent(4, true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "line1\n  line2\n\n  line4|    a\n    b|a\n  \n  b", error: nil),
        ChatTemplateCase(label: "feature 24", template: "{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', '?') }} {{ greet(name='Cy', punct='.') }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "Hello Ann! Hello Bob? Hello Cy.", error: nil),
        ChatTemplateCase(label: "feature 25", template: "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set block %}captured {{ a + b }}{% endset %}[{{ block }}]{% set l = [1, 2] %}{% set d = {'k': 'v', 'n': l} %}{{ d.k }}{{ d['n'][1] }}{{ d.n.0 }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "12[captured 3]v21", error: nil),
        ChatTemplateCase(label: "feature 26", template: "{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %} {{ range(2, 8, 3) | list }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "02 [2, 5]", error: nil),
        ChatTemplateCase(label: "feature 27", template: "{{ 'a' 'b' }} {{ \"dq 'sq'\" }} {{ 'esc \\' \\\" \\\\ \\t|' }} {{ 'uni \\u00e9' }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "ab dq 'sq' esc ' \" \\ \t| uni é", error: nil),
        ChatTemplateCase(label: "feature 28", template: "{{ '%s is %d years' % ('Ann', 30) }} {{ '%s!' % 'hi' }} {{ '{} and {}'.format('a', 'b') }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "Ann is 30 years hi! a and b", error: nil),
        ChatTemplateCase(label: "feature 29", template: "{{ messages[10] }}|{{ messages[10] is defined }}|{{ d.missing }}|{% if d.missing %}no{% endif %}{{ d.missing | length }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: ["d": .object(JinjaObject([]))], expected: "|False||0", error: nil),
        ChatTemplateCase(label: "feature 30", template: "{{ -2 ** 2 }} {{ not true or true }} {{ 1 if 0 else 2 if 0 else 3 }} {{ (1 + 2) * 3 }} {{ 10 - 2 - 3 }} {{ 2 ** 3 ** 2 }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "4 True 3 9 5 64", error: nil),
        ChatTemplateCase(label: "feature 31", template: "{% raw %}{{ not evaluated }} {% if %}{% endraw %}|{{ 'after' }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "{{ not evaluated }} {% if %}|after", error: nil),
        ChatTemplateCase(label: "feature 32", template: "{{ bos_token }}{{ eos_token }}|{{ add_generation_prompt }}|{{ tools }}|{{ documents is none }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<s></s>|True|None|True", error: nil),
        ChatTemplateCase(label: "feature 33", template: "{{ 'ß' | upper }} {{ 'İ' | lower | length }} {{ 'ǅ' | lower }} {{ '日本' ~ '語' }} {{ '👋👋'[1] }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "SS 2 ǆ 日本語 👋", error: nil),
        ChatTemplateCase(label: "feature 34", template: "{% for x in [1, 2, 3] %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}{% if not loop.last %},{% endif %}{% endfor %}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "<1>2,1<2>3,2<3>", error: nil),
        ChatTemplateCase(label: "feature 35", template: "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}{{ loop.index }};{% endfor %}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "1x11y21;2x12y22;", error: nil),
        ChatTemplateCase(label: "feature 36", template: "{% generation %}gen {{ 1 }}{% endgeneration %}|{% macro m(xs) %}{% for x in xs %}<{{ x }}>{% endfor %}{% endmacro %}{{ m([1, 2]) }}{{ m(xs=['a']) | upper }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "gen 1|<1><2><A>", error: nil),
        ChatTemplateCase(label: "feature 37", template: "{{ 2 is in [1, 2] }} {{ 'a' is lower }} {{ 'A' is upper }} {{ messages | map(attribute='role') | join('/') }} {{ messages | rejectattr('role', 'equalto', 'user') | list | length }} {{ messages | selectattr('content') | list | length }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "True True True system/user/assistant/user 2 4", error: nil),
        ChatTemplateCase(label: "feature 38", template: "{{ (messages | last).content }} {{ messages[0].content | upper }} {{ (messages | first)['role'] }} {{ messages[-2:] | map(attribute='content') | list }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "bye SYS system ['hi!', 'bye']", error: nil),
        ChatTemplateCase(label: "feature 39", template: "{{ '\u{1}\t  😀 </s>' | tojson }} {{ ['a', 1.0, 100000000000000000000.0, 1e-7, -0.0] | tojson }} {{ 'x' | tojson(indent=2) }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "\"\\u0001\\t  😀 </s>\" [\"a\", 1.0, 1e+20, 1e-07, -0.0] \"x\"", error: nil),
        ChatTemplateCase(label: "feature 40", template: "{% set content = messages[2].content %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1].lstrip('\n') %}{% endif %}[{{ content }}]", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "[hi!]", error: nil),
        ChatTemplateCase(label: "feature 41", template: "{% for m in messages %}{% set ns = namespace(n=loop.index) %}{{ ns.n }}{% endfor %}|{% set ns2 = namespace() %}{% set ns2.v = 'late' %}{{ ns2.v }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "1234|late", error: nil),
        ChatTemplateCase(label: "feature 42", template: "{%- for m in messages -%}\n    {%- if m.role == 'user' -%}\n        U:{{ m.content }}\n    {% elif m.role == 'assistant' %}\n        A:{{ m.content }}\n    {% else %}\n        S\n    {% endif %}\n{%- endfor -%}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "        S\nU:hello\n        A:hi!\nU:bye\n", error: nil),
        ChatTemplateCase(label: "feature 43", template: "{% if messages|selectattr('role', 'equalto', 'system')|list|length > 0 %}has system{% else %}no system{% endif %}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "has system", error: nil),
        ChatTemplateCase(label: "feature 44", template: "{{ 'ab' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 'a' in ['a'] }} {{ none == none }} {{ u == u }} {{ 0 == false }} {{ 1 == true }}", messages: [ChatMessage(role: "system", content: "sys"), ChatMessage(role: "user", content: "hello"), ChatMessage(role: "assistant", content: "hi!"), ChatMessage(role: "user", content: "bye")], addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>", extra: [:], expected: "True True True True True True True", error: nil),
        ChatTemplateCase(label: "whitespace 0", template: "a\n  {% if true %}\n    b\n  {% endif %}\nc", messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "", extra: [:], expected: "a\n    b\nc", error: nil),
        ChatTemplateCase(label: "whitespace 1", template: "a  {%- if true -%}  b  {%- endif -%}  c", messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "", extra: [:], expected: "abc", error: nil),
        ChatTemplateCase(label: "whitespace 2", template: "a\n  {{ 'x' }}\nb\n  {# comment #}\nc", messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "", extra: [:], expected: "a\n  x\nb\nc", error: nil),
        ChatTemplateCase(label: "whitespace 3", template: "{% for i in [1, 2] %}\n  {{- i -}}\n{% endfor %}\nend\n", messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "", extra: [:], expected: "12end", error: nil),
        ChatTemplateCase(label: "whitespace 4", template: "x  {%+ if true %}y{% endif +%}\nz", messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "", extra: [:], expected: "x  y\nz", error: nil),
        ChatTemplateCase(label: "whitespace 5", template: "{{- '  a  ' -}}   \n\n  {{ 'b' }}  ", messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "", extra: [:], expected: "  a  b  ", error: nil),
        ChatTemplateCase(label: "whitespace 6", template: "{% if true %}  inline  {% endif %}  \n  tail", messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "", extra: [:], expected: "  inline    \n  tail", error: nil),
        ChatTemplateCase(label: "whitespace 7", template: "line\r\nwindows\r\n{% if true %}\r\nyes\r\n{% endif %}\r\n", messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "", extra: [:], expected: "line\nwindows\nyes\n", error: nil),
        ChatTemplateCase(label: "whitespace 8", template: "  {#- c -#}  \n  x", messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "", extra: [:], expected: "x", error: nil),
        ChatTemplateCase(label: "whitespace 9", template: "{% set x = 'v' %}\n\n{{ x }}\n\n", messages: [], addGenerationPrompt: false, bosToken: "", eosToken: "", extra: [:], expected: "\nv\n", error: nil),
    ]
}
