import Foundation

// The persisted index (organism/game-corpus/index.bin), little-endian:
//
//   header (32 bytes): magic "WBDATAIX", u32 format version, u32 0, u64 body length, u64 FNV-1a 64 of the body
//   body:  u32 shard count, per shard {u16 name length, name, u64 size, i64 mtime ns, u64 FNV-1a 64 of its bytes}
//          u32 document count, u64 total tokens
//          u32 string bytes length, string bytes (ids, sources, titles)
//          document table, 36 bytes each: u32 id offset, u16 id length, u32 source offset, u16 source length,
//              u32 title offset, u16 title length, u16 shard, u64 line offset, u32 line length, u32 token count
//          u32 term count, u32 term bytes length, term bytes (UTF-8, sorted bytewise)
//          term table, 22 bytes each: u32 term offset, u16 term length, u32 document frequency,
//              u64 postings offset, u32 postings length
//          u64 postings length, postings: per term, per document {varint document delta, varint term frequency}
//
// Postings carry no positions, which keeps the file small; phrases are checked by re-reading the candidate
// documents (they are in the shards beside the index, located by the document table). Loading reads the file
// and checks the checksum; terms are found by binary search in place, nothing is decoded up front.
// The shard table makes a stale index detectable: a shard added, removed, or whose size, mtime and then
// content hash differ.

/// FNV-1a, 64 bit: the checksum of shards and of the index body.
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        value = h
    }
    mutating func add(_ data: Data) { data.withUnsafeBytes { add($0) } }
    static func hash(_ data: Data) -> UInt64 { var h = FNV1a64(); h.add(data); return h.value }
}

struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func varint(_ v: UInt32) {
        var x = v
        while x >= 0x80 { bytes.append(UInt8(x & 0x7F) | 0x80); x >>= 7 }
        bytes.append(UInt8(x))
    }
    mutating func append<C: Collection>(_ c: C) where C.Element == UInt8 { bytes.append(contentsOf: c) }
}

/// Bounds-checked little-endian reads: a corrupt index throws, never traps.
struct ByteReader {
    let bytes: [UInt8]
    var position: Int
    let path: String

    func fail(_ why: String) -> DataSearchError { .badIndex(path, why) }

    mutating func need(_ n: Int) throws {
        guard n >= 0, position <= bytes.count - n else { throw fail("truncated at byte \(position)") }
    }
    mutating func u16() throws -> UInt16 { try need(2); defer { position += 2 }; return UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8 }
    mutating func u32() throws -> UInt32 {
        try need(4); defer { position += 4 }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
        return v
    }
    mutating func u64() throws -> UInt64 {
        try need(8); defer { position += 8 }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        return v
    }
    mutating func skip(_ n: Int) throws { try need(n); position += n }
    mutating func string(_ n: Int) throws -> String {
        try need(n); defer { position += n }
        return String(decoding: bytes[position..<position + n], as: UTF8.self)
    }
}

/// Where an index's documents are read from.
enum DocumentStore {
    /// The shards of a corpus directory (their names are in the index's shard table).
    case shards(URL)
    /// Documents handed over in memory (tests, notebooks).
    case memory([CorpusDocument])
}

/// A shard recorded in the index, to tell whether the index is still the corpus's.
struct ShardStamp: Equatable {
    var name: String
    var size: UInt64
    var mtimeNanos: Int64
    var hash: UInt64

    static func stat(_ url: URL) throws -> (size: UInt64, mtimeNanos: Int64) {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        let size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
        let date = attributes[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0)
        return (size, Int64((date.timeIntervalSince1970 * 1e9).rounded()))
    }
}

/// Whether a persisted index still describes the corpus beside it.
public enum IndexFreshness: Equatable, Sendable {
    case fresh
    case stale(String)
}

/// A BM25 index over the training corpus (see DataSearchQuery.swift for searching it).
public final class DataSearchIndex: @unchecked Sendable {
    public static let formatVersion: UInt32 = 1
    public static let fileName = "index.bin"
    static let magic = Array("WBDATAIX".utf8)
    static let headerSize = 32
    static let documentRecordSize = 36
    static let termRecordSize = 22
    /// Titles are for display: longer ones are cut (on a character boundary) in the index.
    static let maxTitleBytes = 300

    let bytes: [UInt8]
    let store: DocumentStore
    let shards: [ShardStamp]
    /// Where it was loaded from, if it was.
    public let path: String?
    public let documentCount: Int
    public let termCount: Int
    public let totalTokens: Int
    /// Identifies the documents the index describes, independent of file times (the semantic index
    /// is keyed to it): see `contentKey(store:shards:documents:)`.
    public let contentKey: UInt64
    let stringsStart: Int
    let documentsStart: Int
    let termBytesStart: Int
    let termsStart: Int
    let postingsStart: Int
    let postingsLength: Int

    /// The index file's size in bytes.
    public var byteCount: Int { bytes.count }
    /// The mean document length in tokens (BM25's avgdl).
    public var averageDocumentLength: Double { documentCount == 0 ? 0 : Double(totalTokens) / Double(documentCount) }

    // MARK: Building

    /// Builds an index over every shard of a corpus directory. Malformed lines throw `CorpusFormatError`.
    public static func build(corpus directory: URL) throws -> DataSearchIndex {
        let names = try DataCorpus.shardNames(in: directory)
        var builder = Builder()
        var stamps: [ShardStamp] = []
        for (shardIndex, name) in names.enumerated() {
            let url = directory.appendingPathComponent(name)
            let stat = try ShardStamp.stat(url)
            let data = try Data(contentsOf: url)
            stamps.append(ShardStamp(name: name, size: UInt64(data.count), mtimeNanos: stat.mtimeNanos, hash: FNV1a64.hash(data)))
            for located in try DataCorpus.documents(inShard: data, name: name) {
                try builder.add(located.document, shard: UInt16(shardIndex), offset: located.offset, length: located.length, place: "\(name)")
            }
        }
        let bytes = builder.serialize(shards: stamps)
        return try DataSearchIndex(bytes: bytes, store: .shards(directory), path: nil)
    }

    /// Builds an index over documents in memory.
    public static func build(documents: [CorpusDocument]) throws -> DataSearchIndex {
        var builder = Builder()
        for (i, doc) in documents.enumerated() {
            try builder.add(doc, shard: UInt16.max, offset: i, length: 0, place: "document \(i)")
        }
        return try DataSearchIndex(bytes: builder.serialize(shards: []), store: .memory(documents), path: nil)
    }

    struct Builder {
        var termIDs: [String: Int] = [:]
        var terms: [String] = []
        var postings: [[UInt32]] = []   // per term: document, frequency, document, frequency, ...
        var strings = ByteWriter()
        var documents = ByteWriter()
        var documentCount = 0
        var totalTokens = 0
        var firstPlace: [String: String] = [:]

        mutating func addString(_ s: String, limit: Int, what: String) throws -> (UInt32, UInt16) {
            var utf8 = Array(s.utf8)
            if utf8.count > limit {
                guard what == "title" else { throw DataSearchError.badDocument("\(what) longer than \(limit) bytes: \(s.prefix(80))") }
                var cut = limit
                while cut > 0 && (utf8[cut] & 0xC0) == 0x80 { cut -= 1 }   // not inside a character
                utf8 = Array(utf8[..<cut])
            }
            let offset = strings.bytes.count
            strings.append(utf8)
            return (UInt32(offset), UInt16(utf8.count))
        }

        mutating func add(_ doc: CorpusDocument, shard: UInt16, offset: Int, length: Int, place: String) throws {
            if let first = firstPlace[doc.id] { throw DataSearchError.duplicateID(doc.id, first, place) }
            firstPlace[doc.id] = place
            let docIndex = UInt32(documentCount)
            var counts: [Int: UInt32] = [:]
            var tokens = 0
            for term in SearchTokenizer.terms(in: doc.searchableText) {
                tokens += 1
                let id: Int
                if let known = termIDs[term] {
                    id = known
                } else {
                    id = terms.count
                    termIDs[term] = id
                    terms.append(term)
                    postings.append([])
                }
                counts[id, default: 0] += 1
            }
            for (id, tf) in counts {
                postings[id].append(docIndex)
                postings[id].append(tf)
            }
            let (idOff, idLen) = try addString(doc.id, limit: Int(UInt16.max), what: "id")
            let (srcOff, srcLen) = try addString(doc.source, limit: Int(UInt16.max), what: "source")
            let (titleOff, titleLen) = try addString(doc.displayTitle, limit: DataSearchIndex.maxTitleBytes, what: "title")
            documents.u32(idOff); documents.u16(idLen)
            documents.u32(srcOff); documents.u16(srcLen)
            documents.u32(titleOff); documents.u16(titleLen)
            documents.u16(shard)
            documents.u64(UInt64(offset))
            documents.u32(UInt32(length))
            documents.u32(UInt32(tokens))
            documentCount += 1
            totalTokens += tokens
        }

        func serialize(shards: [ShardStamp]) -> [UInt8] {
            var body = ByteWriter()
            body.u32(UInt32(shards.count))
            for s in shards {
                let name = Array(s.name.utf8)
                body.u16(UInt16(name.count)); body.append(name)
                body.u64(s.size); body.u64(UInt64(bitPattern: s.mtimeNanos)); body.u64(s.hash)
            }
            body.u32(UInt32(documentCount))
            body.u64(UInt64(totalTokens))
            body.u32(UInt32(strings.bytes.count)); body.append(strings.bytes)
            body.append(documents.bytes)

            let termUTF8 = terms.map { Array($0.utf8) }
            let order = termUTF8.indices.sorted { termUTF8[$0].lexicographicallyPrecedes(termUTF8[$1]) }
            var termBytes = ByteWriter(), table = ByteWriter(), postingBytes = ByteWriter()
            for id in order {
                let list = postings[id]
                let start = postingBytes.bytes.count
                var previous: UInt32 = 0
                for k in stride(from: 0, to: list.count, by: 2) {
                    postingBytes.varint(list[k] - previous)
                    postingBytes.varint(list[k + 1])
                    previous = list[k]
                }
                table.u32(UInt32(termBytes.bytes.count)); table.u16(UInt16(termUTF8[id].count))
                table.u32(UInt32(list.count / 2))
                table.u64(UInt64(start)); table.u32(UInt32(postingBytes.bytes.count - start))
                termBytes.append(termUTF8[id])
            }
            body.u32(UInt32(terms.count))
            body.u32(UInt32(termBytes.bytes.count)); body.append(termBytes.bytes)
            body.append(table.bytes)
            body.u64(UInt64(postingBytes.bytes.count)); body.append(postingBytes.bytes)

            var out = ByteWriter()
            out.append(DataSearchIndex.magic)
            out.u32(DataSearchIndex.formatVersion); out.u32(0)
            out.u64(UInt64(body.bytes.count))
            var hash = FNV1a64()
            body.bytes.withUnsafeBytes { hash.add($0) }
            out.u64(hash.value)
            out.append(body.bytes)
            return out.bytes
        }
    }

    // MARK: Reading

    init(bytes: [UInt8], store: DocumentStore, path: String?) throws {
        let name = path ?? "(in memory)"
        var r = ByteReader(bytes: bytes, position: 0, path: name)
        guard bytes.count >= Self.headerSize, Array(bytes[0..<8]) == Self.magic else { throw r.fail("not a data-search index") }
        r.position = 8
        let version = try r.u32()
        guard version == Self.formatVersion else { throw r.fail("format version \(version), this build reads \(Self.formatVersion)") }
        _ = try r.u32()
        let bodyLength = try r.u64()
        let checksum = try r.u64()
        guard bodyLength == UInt64(bytes.count - Self.headerSize) else { throw r.fail("body is \(bytes.count - Self.headerSize) bytes, header says \(bodyLength)") }
        var hash = FNV1a64()
        bytes.withUnsafeBytes { hash.add(UnsafeRawBufferPointer(rebasing: $0[Self.headerSize...])) }
        guard hash.value == checksum else { throw r.fail("checksum mismatch (damaged file)") }

        var stamps: [ShardStamp] = []
        for _ in 0..<(try r.u32()) {
            let name = try r.string(Int(try r.u16()))
            stamps.append(ShardStamp(name: name, size: try r.u64(), mtimeNanos: Int64(bitPattern: try r.u64()), hash: try r.u64()))
        }
        let docs = Int(try r.u32())
        let total = Int(try r.u64())
        let stringsLength = Int(try r.u32())
        stringsStart = r.position
        try r.skip(stringsLength)
        documentsStart = r.position
        try r.skip(docs * Self.documentRecordSize)
        let termTotal = Int(try r.u32())
        let termBytesLength = Int(try r.u32())
        termBytesStart = r.position
        try r.skip(termBytesLength)
        termsStart = r.position
        try r.skip(termTotal * Self.termRecordSize)
        let postingsLen = try r.u64()
        guard postingsLen <= UInt64(bytes.count) else { throw r.fail("postings length out of range") }
        postingsStart = r.position
        try r.skip(Int(postingsLen))
        guard r.position == bytes.count else { throw r.fail("\(bytes.count - r.position) bytes after the postings") }
        postingsLength = Int(postingsLen)
        if case .memory(let list) = store, list.count != docs { throw r.fail("\(docs) documents indexed, \(list.count) given") }

        self.bytes = bytes
        self.store = store
        self.shards = stamps
        self.path = path
        documentCount = docs
        termCount = termTotal
        totalTokens = total
        contentKey = Self.contentKey(store: store, shards: stamps, documents: docs)
        // Every record must point inside its section, so lookups later cannot run off the end.
        for d in 0..<docs {
            let rec = documentsStart + d * Self.documentRecordSize
            guard Int(read32(rec)) + Int(read16(rec + 4)) <= stringsLength,
                  Int(read32(rec + 6)) + Int(read16(rec + 10)) <= stringsLength,
                  Int(read32(rec + 12)) + Int(read16(rec + 16)) <= stringsLength else {
                throw r.fail("document \(d) names bytes outside the string table")
            }
        }
        for t in 0..<termTotal {
            let rec = termsStart + t * Self.termRecordSize
            guard Int(read32(rec)) + Int(read16(rec + 4)) <= termBytesLength,
                  read64(rec + 10) + UInt64(read32(rec + 18)) <= postingsLen else {
                throw r.fail("term \(t) points outside its section")
            }
        }
    }

    /// Loads a persisted index whose documents are read from the shards in `corpus`.
    /// It is not checked against the corpus here: call `freshness()`.
    public static func load(from url: URL, corpus directory: URL) throws -> DataSearchIndex {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw DataSearchError.badIndex(url.path, "cannot read it") }
        return try DataSearchIndex(bytes: [UInt8](data), store: .shards(directory), path: url.path)
    }

    /// Writes the index (atomically: a reader never sees half a file).
    public func write(to url: URL) throws {
        try Data(bytes).write(to: url, options: .atomic)
    }

    /// Whether the shards the index was built from are the ones in its corpus directory now.
    /// Size and mtime equal count as unchanged; otherwise the content hash decides (a checkout
    /// that rewrote identical bytes is still fresh).
    public func freshness() -> IndexFreshness {
        guard case .shards(let directory) = store else { return .fresh }
        let current: [String]
        do { current = try DataCorpus.shardNames(in: directory) } catch { return .stale("\(error)") }
        let recorded = shards.map(\.name)
        if current != recorded {
            let added = Set(current).subtracting(recorded).sorted(), removed = Set(recorded).subtracting(current).sorted()
            var parts: [String] = []
            if !added.isEmpty { parts.append("new shards \(added.joined(separator: ", "))") }
            if !removed.isEmpty { parts.append("shards gone \(removed.joined(separator: ", "))") }
            return .stale(parts.joined(separator: "; "))
        }
        for stamp in shards {
            let url = directory.appendingPathComponent(stamp.name)
            guard let stat = try? ShardStamp.stat(url) else { return .stale("\(stamp.name) unreadable") }
            if stat.size == stamp.size && stat.mtimeNanos == stamp.mtimeNanos { continue }
            guard stat.size == stamp.size, let data = try? Data(contentsOf: url), FNV1a64.hash(data) == stamp.hash else {
                return .stale("\(stamp.name) changed since the index was built")
            }
        }
        return .fresh
    }

    /// The index to search a corpus with: its persisted index when that is fresh; otherwise one built
    /// in memory, with a note saying why (for stderr or a status line).
    public static func open(corpus directory: URL) throws -> (index: DataSearchIndex, note: String?) {
        let url = directory.appendingPathComponent(fileName)
        let why: String
        if FileManager.default.fileExists(atPath: url.path) {
            do {
                let index = try load(from: url, corpus: directory)
                switch index.freshness() {
                case .fresh: return (index, nil)
                case .stale(let reason): why = "index \(url.path) is stale (\(reason))"
                }
            } catch {
                why = "\(error)"
            }
        } else {
            why = "no index at \(url.path)"
        }
        let started = Date()
        let index = try build(corpus: directory)
        let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
        return (index, "\(why): built one in memory (\(index.documentCount) documents, \(seconds) s); run `workbench data index` to save it")
    }

    // MARK: Raw access

    @inline(__always) func read16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
    @inline(__always) func read32(_ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }
    @inline(__always) func read64(_ at: Int) -> UInt64 { UInt64(read32(at)) | UInt64(read32(at + 4)) << 32 }

    struct DocumentRecord {
        var id: String
        var source: String
        var title: String
        var shard: Int
        var offset: Int
        var length: Int
        var tokens: Int
    }

    func string(at offset: UInt32, length: UInt16) -> String {
        let start = stringsStart + Int(offset)
        return String(decoding: bytes[start..<start + Int(length)], as: UTF8.self)
    }

    func documentTokens(_ d: Int) -> Int { Int(read32(documentsStart + d * Self.documentRecordSize + 32)) }

    func documentSource(_ d: Int) -> String {
        let rec = documentsStart + d * Self.documentRecordSize
        return string(at: read32(rec + 6), length: read16(rec + 10))
    }

    func document(at d: Int) -> DocumentRecord {
        let rec = documentsStart + d * Self.documentRecordSize
        return DocumentRecord(id: string(at: read32(rec), length: read16(rec + 4)),
                              source: string(at: read32(rec + 6), length: read16(rec + 10)),
                              title: string(at: read32(rec + 12), length: read16(rec + 16)),
                              shard: Int(read16(rec + 18)), offset: Int(read64(rec + 20)),
                              length: Int(read32(rec + 28)), tokens: Int(read32(rec + 32)))
    }

    /// The position of a document by id (a scan of the id column: ids are looked up one at a time).
    func documentIndex(id: String) -> Int? {
        let wanted = Array(id.utf8)
        for d in 0..<documentCount {
            let rec = documentsStart + d * Self.documentRecordSize
            let len = Int(read16(rec + 4))
            guard len == wanted.count else { continue }
            let start = stringsStart + Int(read32(rec))
            if bytes[start..<start + len].elementsEqual(wanted) { return d }
        }
        return nil
    }

    /// Term table rows whose term equals `term` (0 or 1) or, with `prefix`, starts with it.
    func termRows(_ term: String, prefix: Bool) -> Range<Int> {
        let key = Array(term.utf8)
        func termBytes(_ t: Int) -> ArraySlice<UInt8> {
            let rec = termsStart + t * Self.termRecordSize
            let start = termBytesStart + Int(read32(rec))
            return bytes[start..<start + Int(read16(rec + 4))]
        }
        var lo = 0, hi = termCount
        while lo < hi {
            let mid = (lo + hi) / 2
            if termBytes(mid).lexicographicallyPrecedes(key) { lo = mid + 1 } else { hi = mid }
        }
        var end = lo
        if prefix {
            while end < termCount && termBytes(end).starts(with: key) { end += 1 }
        } else if end < termCount && termBytes(end).elementsEqual(key) {
            end += 1
        }
        return lo..<end
    }

    /// Calls `body(document, frequency)` for each posting of term row `t`, documents ascending.
    func forEachPosting(ofRow t: Int, _ body: (Int, Int) -> Void) {
        let rec = termsStart + t * Self.termRecordSize
        var p = postingsStart + Int(read64(rec + 10))
        let end = p + Int(read32(rec + 18))
        var doc = 0
        func varint() -> Int {
            var v = 0, shift = 0
            while p < end {
                let b = bytes[p]; p += 1
                v |= Int(b & 0x7F) << shift
                if b < 0x80 { break }
                shift += 7
            }
            return v
        }
        while p < end {
            doc += varint()
            let tf = varint()
            body(doc, tf)
        }
    }

    /// The searchable text of documents, reading each shard once per reader.
    final class TextReader {
        let index: DataSearchIndex
        var shardData: [Int: Data] = [:]
        init(_ index: DataSearchIndex) { self.index = index }

        func document(_ d: Int) throws -> CorpusDocument {
            switch index.store {
            case .memory(let list):
                return list[d]
            case .shards(let directory):
                let names = index.shards.map(\.name)
                let rec = index.document(at: d)
                guard rec.shard < names.count else { throw DataSearchError.badIndex(index.path ?? "(in memory)", "document \(d) names shard \(rec.shard)") }
                let data: Data
                if let cached = shardData[rec.shard] {
                    data = cached
                } else {
                    // Mapped, not read: a query touches a few lines of a shard, or many for a phrase.
                    data = try Data(contentsOf: directory.appendingPathComponent(names[rec.shard]), options: .alwaysMapped)
                    shardData[rec.shard] = data
                }
                return try index.parseLine(data, rec: rec, shardName: names[rec.shard])
            }
        }
    }

    func parseLine(_ data: Data, rec: DocumentRecord, shardName: String) throws -> CorpusDocument {
        let staleError = DataSearchError.staleIndex(path ?? "(in memory)", "\(rec.id) is no longer where the index says in \(shardName)")
        guard rec.offset + rec.length <= data.count else { throw staleError }
        let line = data.subdata(in: rec.offset..<rec.offset + rec.length)
        let doc = try DataCorpus.parse(line: line, file: shardName, line: 0)
        guard doc.id == rec.id else { throw staleError }
        return doc
    }

    /// A whole document by id, read from its shard; nil when no document has that id.
    public func document(id: String) throws -> CorpusDocument? {
        guard let d = documentIndex(id: id) else { return nil }
        switch store {
        case .memory(let list):
            return list[d]
        case .shards(let directory):
            let names = shards.map(\.name)
            let rec = document(at: d)
            guard rec.shard < names.count else { throw DataSearchError.badIndex(path ?? "(in memory)", "document \(d) names shard \(rec.shard)") }
            let handle = try FileHandle(forReadingFrom: directory.appendingPathComponent(names[rec.shard]))
            defer { try? handle.close() }
            try handle.seek(toOffset: UInt64(rec.offset))
            let line = try handle.read(upToCount: rec.length) ?? Data()
            return try parseLine(line, rec: DocumentRecord(id: rec.id, source: rec.source, title: rec.title, shard: rec.shard,
                                                           offset: 0, length: line.count, tokens: rec.tokens),
                                 shardName: names[rec.shard])
        }
    }
}
