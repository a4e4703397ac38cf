import Foundation

/// What a model file holds and what of it the engine cannot run, without loading the weights:
/// for `workbench models` and for a clear refusal before anything large is allocated.
public struct ModelSupport: Sendable, Codable, Equatable {
    public var architecture: String
    /// Tensor type -> number of tensors of that type, e.g. ["Q4_K": 27, "F32": 109].
    public var tensorTypes: [String: Int]
    public var tokenizer: String
    /// What stops the file from running here, each naming the part; empty when it runs.
    public var problems: [String]

    public var isSupported: Bool { problems.isEmpty }

    public init(file: GGUFFile) {
        architecture = file.metadata["general.architecture"]?.string ?? "?"
        var types: [String: Int] = [:]
        for t in file.tensors { types[t.type.description, default: 0] += 1 }
        tensorTypes = types
        let model = file.metadata["tokenizer.ggml.model"]?.string ?? "?"
        let pre = file.metadata["tokenizer.ggml.pre"]?.string
        tokenizer = pre.map { "\(model) (\($0))" } ?? model
        var problems: [String] = []
        if !ArchitectureRegistry.names.contains(architecture) {
            problems.append("architecture '\(architecture.prefix(64))' (supported: \(ArchitectureRegistry.names.joined(separator: ", ")))")
        }
        let unsupported = Set(file.tensors.map(\.type)).filter { !$0.hasKernel }.map(\.description).sorted()
        if !unsupported.isEmpty {
            problems.append("tensor types without kernels: \(unsupported.joined(separator: ", "))")
        }
        do { _ = try Tokenizer(gguf: file) } catch { problems.append("tokenizer: \(error)") }
        self.problems = problems
    }

    /// "Q4_K 27, Q5_0 81, F32 109", most common first.
    public var typeSummary: String {
        tensorTypes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}

extension GGMLType {
    /// The names of the types the engine computes with, for messages.
    public static var withKernels: String {
        allCases.filter(\.hasKernel).map(\.description).joined(separator: ", ")
    }
}
