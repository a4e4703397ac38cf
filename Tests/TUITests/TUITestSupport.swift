import Foundation
import Model
import Techniques
import TUI
import Workbench
import XCTest

/// A generation runner for unit tests only: it records each job and lets the test play the
/// events a real generation would send, in any order and at any pace.
final class ScriptedRunner: GenerationRunner, @unchecked Sendable {
    let contextLimit = 8192
    private(set) var jobs: [GenerationJob] = []
    private(set) var cancelCount = 0
    private var emitters: [Int: @Sendable (GenerationEvent) -> Void] = [:]

    func start(_ job: GenerationJob, emit: @escaping @Sendable (GenerationEvent) -> Void) {
        jobs.append(job)
        emitters[job.id] = emit
    }

    func cancel() { cancelCount += 1 }

    func perform(_ work: @escaping @Sendable () -> Void) { work() }

    var lastJob: GenerationJob { jobs.last! }

    /// Streams `pieces` into sample `sample` of the last job.
    func stream(_ pieces: [String], sample: Int = 0) {
        let job = lastJob
        for p in pieces { emitters[job.id]?(.text(job: job.id, sample: sample, p)) }
        emitters[job.id]?(.progress(job: job.id, tokensPerSecond: 42.5, contextUsed: 57))
    }

    func finishSample(_ sample: Int, text: String) {
        let job = lastJob
        let record = GenerationRecord(prompt: "prompt", promptIDs: [1], ids: [2], text: text, stopReason: .endOfGeneration,
                                      settings: job.settings)
        emitters[job.id]?(.sampleFinished(job: job.id, sample: sample, record))
    }

    func finish(error: String? = nil) {
        let job = lastJob
        emitters[job.id]?(.finished(job: job.id, error: error))
    }
}

enum Fixtures {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func theme(_ name: String = "dark") throws -> Theme {
        try Theme.load(from: root.appendingPathComponent("themes/\(name).theme"))
    }

    static func app(width: Int = 100, height: Int = 30, notebook: Notebook? = nil, runner: ScriptedRunner = ScriptedRunner()) throws -> App {
        let state = AppState(width: width, height: height, modelName: "SmolLM2-135M-Instruct", adapterName: nil,
                             sessionPath: notebook?.path, contextLimit: 8192, theme: try theme())
        return App(state: state, runner: runner, notebook: notebook,
                   provenance: Provenance(model: "SmolLM2-135M-Instruct.Q4_1.gguf", modelSHA256: "abc"))
    }

    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tui-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

extension XCTestCase {
    /// Applies the app's queued events until `condition` holds, for at most `seconds`.
    func waitUntil(_ app: App, seconds: Double = 30, _ condition: (AppState) -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            app.drain()
            if condition(app.state) { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTFail("timed out; message: \(app.state.message?.text ?? "none")")
        throw XCTSkip("timeout")
    }
}

extension App {
    func type(_ text: String) {
        for c in text { handle(.char(c)) }
    }

    /// Lets queued notebook work (writes, then the reload each acknowledgement starts) finish and
    /// applies its results.
    func settle() {
        for _ in 0..<4 {
            flushNotebook()
            drain()
        }
    }
}

/// One letter a role, for the role grid of snapshots.
let roleLetters: [Role: Character] = [
    .normal: ".", .dim: "d", .accent: "a", .title: "t", .tabActive: "T", .tabInactive: "i", .status: "s", .footer: "f",
    .key: "k", .user: "u", .assistant: "A", .system: "S", .prefill: "p", .selection: "x", .match: "m", .error: "e",
    .warning: "w", .border: "b", .help: "h",
]

/// The screen as a snapshot: its text rows, then the same rows with each cell's role as a letter
/// (a legend at the end), so a change of style fails as a change of text does.
func snapshotText(_ buffer: CellBuffer) -> String {
    var out = buffer.textLines().joined(separator: "\n") + "\n"
    out += "--- roles ---\n"
    for y in 0..<buffer.height {
        out += String((0..<buffer.width).map { roleLetters[buffer[$0, y].style.role] ?? "?" }) + "\n"
    }
    out += "--- legend: " + Role.allCases.map { "\(roleLetters[$0]!) \($0.rawValue)" }.joined(separator: ", ") + "\n"
    return out
}

/// Compares a rendered screen with a stored snapshot (Tests/TUITests/Snapshots/NAME.txt): text and
/// roles, printing the first differing row (and, for roles, the column and both roles).
/// `UPDATE_SNAPSHOTS=1` rewrites the snapshots (review them before committing).
func assertSnapshot(_ buffer: CellBuffer, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
    let dir = Fixtures.root.appendingPathComponent("Tests/TUITests/Snapshots")
    let url = dir.appendingPathComponent("\(name).txt")
    let actual = snapshotText(buffer)
    if ProcessInfo.processInfo.environment["UPDATE_SNAPSHOTS"] == "1" {
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try? actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        XCTFail("no snapshot \(url.path): run with UPDATE_SNAPSHOTS=1 and review it", file: file, line: line)
        return
    }
    if expected == actual { return }
    let e = expected.components(separatedBy: "\n"), a = actual.components(separatedBy: "\n")
    let rolesStart = a.firstIndex(of: "--- roles ---") ?? a.count
    let letterRole = Dictionary(uniqueKeysWithValues: roleLetters.map { ($0.value, $0.key) })
    for i in 0..<max(e.count, a.count) {
        let el = i < e.count ? e[i] : "<missing>", al = i < a.count ? a[i] : "<missing>"
        if el != al {
            if i > rolesStart, let col = zip(el, al).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                let want = letterRole[Array(el)[col]].map(\.rawValue) ?? "?", got = letterRole[Array(al)[col]].map(\.rawValue) ?? "?"
                XCTFail("snapshot \(name): the role differs first at row \(i - rolesStart - 1), column \(col): expected \(want), got \(got)\n expected: \(el)\n   actual: \(al)",
                        file: file, line: line)
            } else {
                XCTFail("snapshot \(name) differs first at row \(i):\n expected: \(el)\n   actual: \(al)", file: file, line: line)
            }
            return
        }
    }
}
