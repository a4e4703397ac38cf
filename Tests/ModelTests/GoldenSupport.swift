import Foundation
import Model
import TestSupport
import XCTest

/// llama.cpp's reference outputs for the default model (Fixtures/, copied from shared/golden).
struct Golden: Decodable {
    struct TokenizeCase: Decodable { let text: String; let ids: [Int32] }
    struct GenerateCase: Decodable {
        let kind: String
        let prompt: String
        let input_text: String
        let input_ids: [Int32]
        let top10_first: [Int32]
        let first_logits_top10: [Float]
        let greedy_ids: [Int32]
        let greedy_text: String
    }
    let model_sha256: String
    let tokenize: [TokenizeCase]
    let generate: [GenerateCase]

    static func load() throws -> Golden {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/smollm2-135m-instruct-q4_1", withExtension: "json"),
                                "fixture missing")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }
}

