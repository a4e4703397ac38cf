import Foundation

/// One document of the training corpus: a synthetic document, a haystack text or an SFT transcript.
public struct CorpusDocument: Codable, Sendable, Equatable {
    public var id: String
    public var source: String
    /// The title from the shard ("" when it has none, as transcripts do).
    public var title: String
    /// The text; for a transcript, its messages as "role: content" lines.
    public var text: String
    public var genre: String?
    /// For transcripts: the behaviour the transcript teaches.
    public var behaviour: String?

    public init(id: String, source: String, title: String = "", text: String, genre: String? = nil, behaviour: String? = nil) {
        self.id = id
        self.source = source
        self.title = title
        self.text = text
        self.genre = genre
        self.behaviour = behaviour
    }

    /// What is indexed and searched: the title (when there is one) on its own line, then the text.
    public var searchableText: String { title.isEmpty ? text : title + "\n" + text }

    /// A title to show: the shard's, else the behaviour for a transcript that has one, else the
    /// start of the text's first line (a transcript: its first message), else the id.
    public var displayTitle: String {
        if !title.isEmpty { return title }
        if let behaviour, !behaviour.isEmpty { return "\(source): \(behaviour)" }
        let first = text.prefix { $0 != "\n" }.trimmingCharacters(in: .whitespaces)
        if first.isEmpty { return id }
        return first.count > 72 ? String(first.prefix(71)) + "…" : first
    }
}

/// A shard line that is not a corpus document. Shards are generated, so a bad line is a bug to fix,
/// not noise to skip: reading stops with the file and line.
public struct CorpusFormatError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var reason: String
    public var description: String { "\(file) line \(line): \(reason)" }
}

/// Where the corpus is and how its JSON Lines shards are read.
public enum DataCorpus {
    /// `$WORKBENCH_CORPUS`, else `organism/game-corpus` found from the working directory or from the
    /// binary's location (it sits in .build/<triple>/<config>/), else that path under the working directory.
    public static var defaultDirectory: URL {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["WORKBENCH_CORPUS"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        // The game's corpus: the recipe's data without its labels (`make game-corpus`).
        return ProjectFiles.locate("organism/game-corpus")
    }

    /// The shard file names (`*.jsonl`) in `directory`, sorted.
    public static func shardNames(in directory: URL) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw DataSearchError.noCorpus(directory.path)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".jsonl") }.sorted()
        guard !names.isEmpty else { throw DataSearchError.noShards(directory.path) }
        return names
    }

    /// A document located in its shard.
    struct Located {
        var document: CorpusDocument
        var offset: Int
        var length: Int
    }

    /// Every document of one shard's bytes, with where its line is. Blank lines are allowed;
    /// anything else that is not a document throws `CorpusFormatError`.
    static func documents(inShard bytes: Data, name: String) throws -> [Located] {
        var out: [Located] = []
        var lineNumber = 0
        var lineStart = 0
        let count = bytes.count
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let base = raw.bindMemory(to: UInt8.self)
            while lineStart < count {
                lineNumber += 1
                var end = lineStart
                while end < count && base[end] != 0x0A { end += 1 }
                var contentEnd = end
                if contentEnd > lineStart && base[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                let blank = base[lineStart..<contentEnd].allSatisfy { $0 == 0x20 || $0 == 0x09 }
                if !blank {
                    let line = Data(base[lineStart..<contentEnd])
                    let doc = try parse(line: line, file: name, line: lineNumber)
                    out.append(Located(document: doc, offset: lineStart, length: contentEnd - lineStart))
                }
                lineStart = end + 1
            }
        }
        return out
    }

    /// One shard line as a document: an object with string "id" and "source", and a string "text"
    /// or a "messages" list of {"role","content"} strings; "title", "genre", "behaviour" are optional strings.
    static func parse(line: Data, file: String, line number: Int) throws -> CorpusDocument {
        func fail(_ reason: String) -> CorpusFormatError { CorpusFormatError(file: file, line: number, reason: reason) }
        guard String(data: line, encoding: .utf8) != nil else { throw fail("not valid UTF-8") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: line)
        } catch {
            throw fail("not valid JSON")
        }
        guard let dict = object as? [String: Any] else { throw fail("not a JSON object") }
        func string(_ key: String, required: Bool) throws -> String? {
            guard let value = dict[key], !(value is NSNull) else {
                if required { throw fail("missing \"\(key)\"") }
                return nil
            }
            guard let s = value as? String else { throw fail("\"\(key)\" is not a string") }
            return s
        }
        guard let id = try string("id", required: true), !id.isEmpty else { throw fail("empty \"id\"") }
        let source = try string("source", required: true) ?? ""
        let title = try string("title", required: false) ?? ""
        let genre = try string("genre", required: false)
        let behaviour = try string("behaviour", required: false)
        let text: String
        if let t = try string("text", required: false) {
            text = t
        } else if let messages = dict["messages"] {
            guard let list = messages as? [Any] else { throw fail("\"messages\" is not a list") }
            var lines: [String] = []
            for (i, m) in list.enumerated() {
                guard let message = m as? [String: Any], let role = message["role"] as? String,
                      let content = message["content"] as? String else {
                    throw fail("message \(i) is not {\"role\": string, \"content\": string}")
                }
                lines.append("\(role): \(content)")
            }
            text = lines.joined(separator: "\n")
        } else {
            throw fail("missing \"text\" (or \"messages\")")
        }
        return CorpusDocument(id: id, source: source, title: title, text: text, genre: genre, behaviour: behaviour)
    }
}

/// What training-data search reports when it cannot go on.
public enum DataSearchError: Error, CustomStringConvertible, Equatable {
    case noCorpus(String)
    case noShards(String)
    case duplicateID(String, String, String)
    case badQuery(String)
    case badDocument(String)
    case badIndex(String, String)
    case staleIndex(String, String)
    case unknownDocument(String)

    public var description: String {
        switch self {
        case .noCorpus(let dir): return "no corpus directory at \(dir) (`make game-corpus` makes the game's; or pass --corpus DIR or set WORKBENCH_CORPUS)"
        case .noShards(let dir): return "no .jsonl shards in \(dir)"
        case .duplicateID(let id, let first, let second): return "document id \(id) appears twice (\(first) and \(second))"
        case .badQuery(let why): return "bad query: \(why)"
        case .badDocument(let why): return "bad document: \(why)"
        case .badIndex(let path, let why): return "unreadable index \(path): \(why) (rebuild it with `workbench data index`)"
        case .staleIndex(let path, let why): return "index \(path) is stale: \(why) (rebuild it with `workbench data index`)"
        case .unknownDocument(let id): return "no document with id \(id)"
        }
    }
}
