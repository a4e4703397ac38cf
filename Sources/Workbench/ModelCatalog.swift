import Foundation
import Model
import Techniques

/// Where models live and which is the default: `$WORKBENCH_MODELS` or the `models/` folder of the
/// project (found from the working directory or from the binary's location).
public enum ModelCatalog {
    public static let defaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf"
    public static let defaultModelSHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

    public static var modelsDirectory: URL {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["WORKBENCH_MODELS"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return ProjectFiles.locate("models")
    }

    /// The path `--model` defaults to: `$WORKBENCH_MODEL`, else the default model in the models folder.
    public static var defaultModelPath: String {
        if let p = ProcessInfo.processInfo.environment["WORKBENCH_MODEL"], !p.isEmpty { return p }
        return modelsDirectory.appendingPathComponent(defaultModelFile).path
    }

    public struct Entry: Codable, Sendable {
        public var path: String
        public var name: String
        public var architecture: String
        public var sizeBytes: Int
        public var tensors: Int
        public var isDefault: Bool
        /// Set when the file could not be read as a model.
        public var error: String?
        /// Its architecture, tensor types, tokenizer, and what of it the engine cannot run.
        public var support: ModelSupport?
    }

    /// Every `.gguf` in the models folder, with what its header says.
    public static func installed() -> [Entry] {
        let dir = modelsDirectory
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return files.filter { $0.hasSuffix(".gguf") }.sorted().map { describe(dir.appendingPathComponent($0).path) }
    }

    /// One file: what its header says and whether the engine can run it.
    public static func describe(_ path: String) -> Entry {
        let name = URL(fileURLWithPath: path).lastPathComponent
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
        let isDefault = name == defaultModelFile
        do {
            let f = try GGUFFile(path: path)
            return Entry(path: path, name: f.metadata["general.name"]?.string ?? name,
                         architecture: f.metadata["general.architecture"]?.string ?? "?",
                         sizeBytes: size, tensors: f.tensors.count, isDefault: isDefault, error: nil,
                         support: ModelSupport(file: f))
        } catch {
            return Entry(path: path, name: name, architecture: "?", sizeBytes: size, tensors: 0,
                         isDefault: isDefault, error: "\(error)", support: nil)
        }
    }
}
