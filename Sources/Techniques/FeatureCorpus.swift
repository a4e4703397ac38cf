import Foundation
import Model

/// Documents of a text corpus for the feature index, read one file at a time: a .jsonl file gives
/// one document per line (its "text" field), any other file is split on blank lines; a directory
/// gives the documents of each .txt, .md and .jsonl file under it, in path order.
public struct FeatureCorpus: Sendable {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case notFound(String)
        case noFiles(String)
        case badLine(file: String, line: Int, why: String)
        public var description: String {
            switch self {
            case .notFound(let p): return "no corpus at \(p): pass a file or a directory of .txt, .md or .jsonl files"
            case .noFiles(let p): return "the corpus directory \(p) has no .txt, .md or .jsonl files"
            case .badLine(let f, let l, let why): return "\(f):\(l): \(why) (each .jsonl line must be an object with a string \"text\")"
            }
        }
    }

    public static let extensions: Set<String> = ["txt", "md", "jsonl"]
    public let path: String
    /// The files read, in order.
    public let files: [String]

    public init(path: String) throws {
        self.path = path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw Failure.notFound(path) }
        guard isDir.boolValue else {
            files = [path]
            return
        }
        guard let e = FileManager.default.enumerator(at: URL(fileURLWithPath: path), includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw Failure.notFound(path)
        }
        var found: [String] = []
        for case let url as URL in e where Self.extensions.contains(url.pathExtension.lowercased()) {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { found.append(url.path) }
        }
        guard !found.isEmpty else { throw Failure.noFiles(path) }
        files = found.sorted()
    }

    /// The documents of one file.
    public static func documents(ofFile file: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: file) else { throw Failure.notFound(file) }
        guard file.lowercased().hasSuffix(".jsonl") else {
            return SAETraining.paragraphs(String(decoding: data, as: UTF8.self))
        }
        var docs: [String] = []
        var lineNumber = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
                throw Failure.badLine(file: file, line: lineNumber, why: "not a JSON object")
            }
            guard let text = object["text"] as? String else {
                throw Failure.badLine(file: file, line: lineNumber, why: "no string \"text\" field")
            }
            if !text.isEmpty { docs.append(text) }
        }
        return docs
    }

    /// Calls `body` with each document in order until it returns false.
    public func forEachDocument(_ body: (String) throws -> Bool) throws {
        for file in files {
            for doc in try Self.documents(ofFile: file) {
                guard try body(doc) else { return }
            }
        }
    }
}
