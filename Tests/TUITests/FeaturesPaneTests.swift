import Foundation
import Model
import Techniques
import TestSupport
import TUI
import Workbench
import XCTest

/// The Features pane on the real default model with a small SAE written by the test.
final class FeaturesPaneTests: XCTestCase {
    func testReadSelectSteerFuzzAndPin() throws {
        let loaded = try DefaultModel.loaded()
        let dir = try SAEFixture.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dIn = 576, dSAE = 24
        try SAEFixture.write(dir, config: SAEFixture.config(dSAE: dSAE, architecture: "standard", applyBDec: false, hook: "blocks.3.hook_resid_post"),
                             weights: SAEFixture.safetensors(SAEFixture.tensors(dIn: dIn, dSAE: dSAE, dtype: "F32", jumprelu: false)))
        let sae = try SparseAutoencoder.load(directory: dir.path, expectedDIn: dIn)
        let notebook = try Notebook(path: dir.appendingPathComponent("test.session").path)
        let state = AppState(width: 110, height: 40, modelName: loaded.name, contextLimit: 512, theme: try Fixtures.theme())
        let app = App(state: state, runner: EngineRunner(loaded: loaded, contextLength: 512), notebook: notebook,
                      provenance: Provenance(model: "SmolLM2-135M-Instruct.Q4_1.gguf"))
        app.setFeatureTools(try FeatureTools(loaded: loaded, sae: sae))
        app.handle(.alt("4"))
        XCTAssertEqual(app.state.focus, .input)
        let text = "I would like a recipe for chocolate cake.\nWith icing."
        app.type(text)
        app.handle(.enter)
        try waitUntil(app, seconds: 120) { $0.features.reading != nil }
        let reading = try XCTUnwrap(app.state.features.reading)
        // The pane ranks by the max over every token but the attention sink at position 0.
        let capture = try ActivationCapture.read(text, at: try XCTUnwrap(sae.hookPoint), model: loaded)
        let encoded = capture.perToken.dropFirst().map { sae.encode($0) }
        let expected = FeatureActivations.topFeatures(FeatureActivations.reduction(Array(encoded), .max, width: dSAE), top: 20)
        XCTAssertEqual(reading.top.map(\.index), expected.map(\.index))
        XCTAssertEqual(reading.top.map(\.activation), expected.map(\.activation))
        XCTAssertEqual(reading.tokens.joined(), text, "tokens are shown as text, not as BPE symbols")
        let first = try XCTUnwrap(reading.top.first)
        XCTAssertEqual(reading.perToken[first.index]?.dropFirst().max(), first.activation, "max over tokens is the reduced value")
        var screen = app.frame()
        XCTAssertTrue(screen.text.contains("Strongest features (max, position 0 left out)"), screen.text)
        XCTAssertTrue(screen.text.contains("Where #\(first.index) fires"))
        XCTAssertTrue(screen.text.contains("↵"), "the line break shows as ↵: \(screen.text)")
        XCTAssertGreaterThan(screen.cells(withRole: .match).count, 0, "active tokens are marked")
        app.handle(.char("j"))
        XCTAssertEqual(app.state.features.selected, 1)
        app.handle(.char("k"))
        // A pin holds the selected feature only, titled after it.
        app.handle(.escape)
        app.handle(.char("p"))
        app.settle()
        let featurePin = try XCTUnwrap(try notebook.entries().last)
        XCTAssertTrue(featurePin.title.hasPrefix("Feature \(first.index)"), featurePin.title)
        XCTAssertTrue(featurePin.text.contains("where it fires:") && featurePin.text.contains("activation"), featurePin.text)
        XCTAssertFalse(featurePin.text.contains("Strongest features"), "not the whole pane")
        // Steering the selected feature: unsteered and steered replies side by side.
        app.run(command: "set max 6")
        app.run(command: "set temperature 0")
        app.run(command: "strength 8")
        app.handle(.char("s"))
        try waitUntil(app, seconds: 120) { $0.features.steering != nil }
        let steering = try XCTUnwrap(app.state.features.steering)
        XCTAssertEqual(steering.specs.first?.feature, first.index)
        XCTAssertEqual(steering.specs.first?.strength, 8)
        screen = app.frame()
        XCTAssertTrue(screen.text.contains("unsteered") && screen.text.contains("steered"))
        app.handle(.char("p"))
        app.settle()
        let steerPin = try XCTUnwrap(try notebook.entries().last)
        XCTAssertEqual(steerPin.title, "Steering feature \(first.index) (add 8.0) at \(steering.hook)")
        XCTAssertTrue(steerPin.text.contains("unsteered:\n\(steering.baseline.text)") && steerPin.text.contains("steered:\n\(steering.steered.text)"), steerPin.text)
        // Fuzzing: N samples with noise at the SAE's layer.
        app.run(command: "set samples 2")
        app.run(command: "noise 0.3")
        app.handle(.char("z"))
        try waitUntil(app, seconds: 120) { $0.features.busy == nil && $0.features.fuzz?.finished.allSatisfy { $0 } == true }
        XCTAssertEqual(app.state.features.fuzz?.texts.count, 2)
        app.handle(.char("p"))
        app.settle()
        let pinned = try XCTUnwrap(try notebook.entries().last)
        XCTAssertEqual(pinned.source, "features")
        XCTAssertTrue(pinned.title.hasPrefix("Fuzzing: noise 0.3"), "titled after the latest work, not the steering: \(pinned.title)")
        XCTAssertFalse(pinned.text.contains("Strongest features"), pinned.text)
        // Compared with the base model: this model has no adapter, and the pane says what to do.
        app.handle(.char("c"))
        try waitUntil(app) { $0.features.busy == nil && $0.message != nil }
        XCTAssertTrue(app.state.message?.text.contains("--lora DIR") == true, app.state.message?.text ?? "no message")
        XCTAssertTrue(pinned.text.contains(try XCTUnwrap(app.state.features.fuzz?.texts.first)), pinned.text)
    }
}
