import Foundation
import Model
import TestSupport
import XCTest

/// The prompt format a remote engine renders with, from a GGUF or a Hugging Face
/// tokenizer_config.json: the same bytes as the in-process engine's for the same template.
final class PromptFormatTests: XCTestCase {
    let messages = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")]

    func config(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }

    /// A tokenizer_config.json holding the default model's own template and tokens renders exactly
    /// what the GGUF does.
    func testATokenizerConfigWithTheModelsTemplateRendersTheSameBytesAsTheGGUF() throws {
        let file = try DefaultModel.file()
        let template = try XCTUnwrap(file.metadata["tokenizer.chat_template"]?.string)
        let fromGGUF = try PromptFormat.load(path: DefaultModel.path)
        let fromConfig = try PromptFormat.tokenizerConfig(
            config(["chat_template": template, "bos_token": ["content": fromGGUF.bosText, "lstrip": false], "eos_token": fromGGUF.eosText]),
            origin: "tokenizer_config.json")
        XCTAssertNotNil(fromConfig.template)
        for prefill in ["", "I must"] {
            XCTAssertEqual(try fromConfig.render(messages, prefill: prefill), try fromGGUF.render(messages, prefill: prefill))
        }
        XCTAssertEqual(try fromGGUF.render(messages), try DefaultModel.loaded().chatPrompt(messages))
    }

    func testANamedTemplateListUsesTheDefaultOne() throws {
        let f = try PromptFormat.tokenizerConfig(config(["chat_template": [
            ["name": "tool_use", "template": "TOOLS"],
            ["name": "default", "template": "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"],
        ]]), origin: "c.json")
        XCTAssertEqual(try f.render(messages, addGenerationPrompt: false), "[system]Be brief.[user]Hi")
    }

    func testAConfigWithoutATemplateFallsBackToTheBuiltInFormatAndSaysSo() throws {
        let f = try PromptFormat.tokenizerConfig(config(["bos_token": "<|begin_of_text|>", "eos_token": NSNull()]), origin: "c.json")
        XCTAssertNil(f.template)
        XCTAssertEqual(f.builtIn, .llama3)
        XCTAssertTrue(f.templateProblem?.contains("c.json has no chat_template") ?? false, f.templateProblem ?? "")
        XCTAssertTrue(try f.render(messages).hasPrefix("<|begin_of_text|><|start_header_id|>system"))
    }

    func testBadTemplateFilesAreRefusedClearly() throws {
        func message(_ data: Data) -> String {
            do { _ = try PromptFormat.tokenizerConfig(data, origin: "c.json"); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(Data("not json".utf8)).contains("neither a GGUF file nor a JSON object"))
        XCTAssertTrue(message(try config(["chat_template": 3])).contains("chat_template is neither a string nor a list"))
        XCTAssertTrue(message(try config(["bos_token": ["lstrip": true]])).contains("bos_token has no string \"content\""))
        let missing = (try? PromptFormat.load(path: "/nonexistent/tokenizer_config.json")) == nil
        XCTAssertTrue(missing)
    }
}
