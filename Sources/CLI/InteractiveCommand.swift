import ArgumentParser
import Foundation
import Model
import Techniques
import Workbench

/// A line-based chat: for dumb terminals, pipes and screen readers, where the full-screen workbench cannot run.
struct Interactive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interactive",
        abstract: "A line-based chat for terminals without full-screen support (/system TEXT, /prefill TEXT, /reset, /quit).")
    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var backendOptions: BackendOptions
    @OptionGroup var sampling: SamplingOptions

    func run() throws {
        let engine = try backendOptions.engine(modelOptions)
        let about: String
        if let local = engine as? InProcessEngine {
            about = "\(local.loaded.name) (\(local.loaded.model.architecture), \(local.loaded.pool.threads) threads)"
        } else {
            about = "\(engine.identity.model) on \(engine.identity.url ?? "a server")"
        }
        printSafe("workbench: \(about). Type a message; /system TEXT, /prefill TEXT, /reset, /quit.", terminator: "\n")
        var messages: [ChatMessage] = []
        var system: String? = nil
        var prefill = ""
        var settings = sampling.settings
        while true {
            printSafe("> ")
            guard let line = readLine(strippingNewline: true) else { break }
            if line == "/quit" || line == "/exit" { break }
            if line == "/reset" { messages = []; printSafe("(conversation cleared)\n"); continue }
            if line.hasPrefix("/system ") { system = String(line.dropFirst(8)); messages = []; printSafe("(system prompt set; conversation cleared)\n"); continue }
            if line.hasPrefix("/prefill") { prefill = String(line.dropFirst(8)).trimmingCharacters(in: .whitespaces); printSafe("(prefill for the next reply: \(prefill.debugDescription))\n"); continue }
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            messages.append(ChatMessage(role: "user", content: line))
            if !prefill.isEmpty { printSafe(prefill) }
            do {
                let record = try ChatTurn.run(messages: messages, system: system, prefill: prefill, settings: settings, engine: engine) { piece in
                    printSafe(piece)
                    return true
                }
                messages.append(ChatMessage(role: "assistant", content: prefill + record.text))
                printSafe("\n")
            } catch {
                messages.removeLast()
                (engine as? InProcessEngine)?.generator.reset()
                printSafe("error: \(error)\n")
            }
            prefill = ""
            settings.sampling.seed &+= 1
        }
    }
}
