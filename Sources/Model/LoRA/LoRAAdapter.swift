import Foundation

/// A problem with a LoRA adapter; the message names the file, tensor or config key.
public struct LoRAError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "LoRA adapter: \(message)" }
}

/// The Hugging Face module names a LoRA can target in a Llama model, and the GGUF tensors they are.
public enum LoRAModule: String, CaseIterable, Sendable, Comparable {
    case q = "q_proj", k = "k_proj", v = "v_proj", o = "o_proj"
    case gate = "gate_proj", up = "up_proj", down = "down_proj"
    case lmHead = "lm_head"

    /// The GGUF tensor of layer `layer` this module's weight became (llama.cpp's converter names).
    public func ggufTensor(layer: Int?) -> String {
        switch self {
        case .q: return "blk.\(layer ?? 0).attn_q.weight"
        case .k: return "blk.\(layer ?? 0).attn_k.weight"
        case .v: return "blk.\(layer ?? 0).attn_v.weight"
        case .o: return "blk.\(layer ?? 0).attn_output.weight"
        case .gate: return "blk.\(layer ?? 0).ffn_gate.weight"
        case .up: return "blk.\(layer ?? 0).ffn_up.weight"
        case .down: return "blk.\(layer ?? 0).ffn_down.weight"
        case .lmHead: return "output.weight"
        }
    }

    /// The submodule of a decoder layer that holds it (`self_attn` or `mlp`); nil for lm_head.
    var parent: String? {
        switch self {
        case .q, .k, .v, .o: return "self_attn"
        case .gate, .up, .down: return "mlp"
        case .lmHead: return nil
        }
    }

    /// Position among the per-layer modules (lm_head is not per layer).
    var ordinal: Int {
        switch self {
        case .q: return 0
        case .k: return 1
        case .v: return 2
        case .o: return 3
        case .gate: return 4
        case .up: return 5
        case .down: return 6
        case .lmHead: return 7
        }
    }
    static let perLayer: [LoRAModule] = [.q, .k, .v, .o, .gate, .up, .down]

    public static func < (a: LoRAModule, b: LoRAModule) -> Bool { a.ordinal < b.ordinal }
}

/// One adapted weight matrix in Hugging Face layout (W is [outputs, inputs], y = W x):
/// W' = W + scale * B @ A with A [rank, inputs] and B [outputs, rank].
public struct LoRAPair: Sendable {
    /// The decoder layer; nil for lm_head.
    public let layer: Int?
    public let module: LoRAModule
    public let rank: Int
    public let alpha: Double
    /// alpha / rank, or alpha / sqrt(rank) with rsLoRA.
    public let scale: Float
    public let inputs: Int
    public let outputs: Int
    /// Row-major [rank, inputs].
    public let a: [Float]
    /// Row-major [outputs, rank], rows in Hugging Face order (not yet permuted for GGUF's RoPE layout).
    public let b: [Float]
    /// PEFT's module name, e.g. `model.layers.3.self_attn.q_proj`.
    public let moduleName: String
    /// The safetensors names of A and B, for messages.
    public let tensorA: String, tensorB: String
}

/// A PEFT LoRA adapter directory (`adapter_config.json` + `adapter_model.safetensors`), read and
/// checked on its own: the options this engine can apply exactly, every A with its B, ranks as the
/// config says, finite values. Shapes against a model are checked when it is bound to one
/// (`LoRARuntime`), which also maps the modules to GGUF tensors.
public final class LoRAAdapter: @unchecked Sendable {
    public static let configFile = "adapter_config.json"
    public static let weightsFile = "adapter_model.safetensors"

    public let directory: String
    /// The directory's name, for display (untrusted: sanitise before showing it).
    public let name: String
    /// The config's `r` and `lora_alpha` (modules may differ through rank_pattern / alpha_pattern).
    public let rank: Int
    public let alpha: Double
    public let useRSLoRA: Bool
    /// Adapted matrices, ordered by layer then module (lm_head last).
    public let pairs: [LoRAPair]

    public init(directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        self.directory = directory
        name = dir.standardizedFileURL.lastPathComponent
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw LoRAError("no adapter directory at \(directory)")
        }
        guard isDirectory.boolValue else { throw LoRAError("\(directory) is not a directory (pass the PEFT adapter directory)") }
        let configPath = dir.appendingPathComponent(Self.configFile).path
        let weightsPath = dir.appendingPathComponent(Self.weightsFile).path
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw LoRAError("missing \(Self.configFile) in \(directory)")
        }
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            let bin = dir.appendingPathComponent("adapter_model.bin").path
            if FileManager.default.fileExists(atPath: bin) {
                throw LoRAError("missing \(Self.weightsFile) in \(directory): adapter_model.bin (pickle) is not read; save with safe_serialization=True")
            }
            throw LoRAError("missing \(Self.weightsFile) in \(directory)")
        }
        let config = try LoRAConfig(path: configPath)
        rank = config.rank
        alpha = config.alpha
        useRSLoRA = config.useRSLoRA
        let weights: SafeTensorsFile
        do {
            weights = try SafeTensorsFile(path: weightsPath)
        } catch let error as SafeTensorsError {
            throw LoRAError("\(Self.weightsFile): \(error.message)")
        }
        pairs = try Self.readPairs(weights, config: config)
    }

    /// A and B of every adapted module, with the checks that need no model.
    private static func readPairs(_ file: SafeTensorsFile, config: LoRAConfig) throws -> [LoRAPair] {
        let w = weightsFile
        struct Halves { var a: String?, b: String?, layer: Int?, module: LoRAModule }
        var byModule: [String: Halves] = [:]
        for name in file.tensors.keys.sorted() {
            let parsed = try parseTensorName(name)
            var entry = byModule[parsed.moduleName] ?? Halves(a: nil, b: nil, layer: parsed.layer, module: parsed.module)
            if parsed.isA {
                if let other = entry.a { throw LoRAError("\(w): tensors '\(UntrustedText.excerpt(other))' and '\(UntrustedText.excerpt(name))' are both lora_A of \(UntrustedText.excerpt(parsed.moduleName))") }
                entry.a = name
            } else {
                if let other = entry.b { throw LoRAError("\(w): tensors '\(UntrustedText.excerpt(other))' and '\(UntrustedText.excerpt(name))' are both lora_B of \(UntrustedText.excerpt(parsed.moduleName))") }
                entry.b = name
            }
            byModule[parsed.moduleName] = entry
        }
        guard !byModule.isEmpty else { throw LoRAError("\(w) holds no LoRA tensors") }

        var pairs: [LoRAPair] = []
        for (moduleName, h) in byModule {
            guard let aName = h.a else { throw LoRAError("\(w): missing lora_A for \(UntrustedText.excerpt(moduleName)) (found '\(UntrustedText.excerpt(h.b!))')") }
            guard let bName = h.b else { throw LoRAError("\(w): missing lora_B for \(UntrustedText.excerpt(moduleName)) (found '\(UntrustedText.excerpt(aName))')") }
            guard config.targets(moduleName: moduleName, module: h.module) else {
                throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(aName))' adapts \(UntrustedText.excerpt(moduleName)), which target_modules in \(LoRAAdapter.configFile) does not name")
            }
            if let layers = config.layersToTransform, let layer = h.layer, !layers.contains(layer) {
                throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(aName))' adapts layer \(layer), outside layers_to_transform \(UntrustedText.excerpt(describing: layers.sorted()))")
            }
            let aInfo = file.info(aName)!, bInfo = file.info(bName)!
            guard aInfo.shape.count == 2 else { throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(aName))' has shape \(UntrustedText.excerpt(describing: aInfo.shape)), expected [rank, inputs]") }
            guard bInfo.shape.count == 2 else { throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(bName))' has shape \(UntrustedText.excerpt(describing: bInfo.shape)), expected [outputs, rank]") }
            let rank = config.rank(for: moduleName)
            let alpha = config.alpha(for: moduleName)
            guard aInfo.shape[0] == rank else {
                throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(aName))' has rank \(aInfo.shape[0]) (shape \(UntrustedText.excerpt(describing: aInfo.shape))) but \(LoRAAdapter.configFile) gives \(UntrustedText.excerpt(moduleName)) rank \(rank)")
            }
            guard bInfo.shape[1] == rank else {
                throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(bName))' has rank \(bInfo.shape[1]) (shape \(UntrustedText.excerpt(describing: bInfo.shape))) but \(LoRAAdapter.configFile) gives \(UntrustedText.excerpt(moduleName)) rank \(rank)")
            }
            guard aInfo.shape[1] > 0, bInfo.shape[0] > 0 else {
                throw LoRAError("\(w): tensors '\(UntrustedText.excerpt(aName))' \(UntrustedText.excerpt(describing: aInfo.shape)) and '\(UntrustedText.excerpt(bName))' \(UntrustedText.excerpt(describing: bInfo.shape)) are empty")
            }
            let a = try file.floats(aName), b = try file.floats(bName)
            for (tensor, values) in [(aName, a), (bName, b)] {
                if let i = values.firstIndex(where: { !$0.isFinite }) {
                    throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(tensor))' has a non-finite value (\(values[i])) at flat index \(i)")
                }
            }
            let scale = config.useRSLoRA ? alpha / Double(rank).squareRoot() : alpha / Double(rank)
            pairs.append(LoRAPair(layer: h.layer, module: h.module, rank: rank, alpha: alpha, scale: Float(scale),
                                  inputs: aInfo.shape[1], outputs: bInfo.shape[0], a: a, b: b,
                                  moduleName: moduleName, tensorA: aName, tensorB: bName))
        }
        return pairs.sorted { ($0.layer ?? Int.max, $0.module) < ($1.layer ?? Int.max, $1.module) }
    }

    /// `base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight` -> module
    /// `model.layers.3.self_attn.q_proj`, layer 3, q_proj, A. Anything that is not a plain LoRA
    /// A/B weight of a supported module is an error that says what it is.
    static func parseTensorName(_ name: String) throws -> (moduleName: String, layer: Int?, module: LoRAModule, isA: Bool) {
        let w = weightsFile
        let isA: Bool
        let stem: String
        if name.hasSuffix(".lora_A.weight") {
            isA = true
            stem = String(name.dropLast(".lora_A.weight".count))
        } else if name.hasSuffix(".lora_B.weight") {
            isA = false
            stem = String(name.dropLast(".lora_B.weight".count))
        } else if name.contains("lora_embedding_A") || name.contains("lora_embedding_B") {
            throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(name))' is a LoRA on an embedding, which is not supported")
        } else if name.contains("lora_magnitude_vector") {
            throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(name))' is a DoRA magnitude vector; DoRA is not supported")
        } else if name.hasSuffix(".lora_B.bias") || name.hasSuffix(".lora_A.bias") {
            throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(name))' is a LoRA bias (lora_bias=True), which is not supported")
        } else {
            throw LoRAError("\(w): unexpected tensor '\(UntrustedText.excerpt(name))' (expected ...lora_A.weight / ...lora_B.weight)")
        }
        var moduleName = stem
        if moduleName.hasPrefix("base_model.model.") { moduleName = String(moduleName.dropFirst("base_model.model.".count)) }
        let parts = moduleName.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let last = parts.last else { throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(name))': no module name") }
        if last == "embed_tokens" {
            throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(name))' adapts the token embedding (embed_tokens), which is not supported")
        }
        guard let module = LoRAModule(rawValue: last) else {
            throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(name))' adapts unknown module '\(UntrustedText.excerpt(last))' (supported: \(LoRAModule.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if module == .lmHead {
            guard parts == ["lm_head"] else { throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(name))': unexpected module path '\(UntrustedText.excerpt(moduleName))'") }
            return (moduleName, nil, module, isA)
        }
        // [model.]layers.{i}.{self_attn|mlp}.{module}
        let body = parts.first == "model" ? Array(parts.dropFirst()) : parts
        guard body.count == 4, body[0] == "layers", let layer = Int(body[1]), layer >= 0, String(layer) == body[1],
              body[2] == module.parent else {
            throw LoRAError("\(w): tensor '\(UntrustedText.excerpt(name))': unexpected module path '\(UntrustedText.excerpt(moduleName))' (expected model.layers.N.\(module.parent ?? "").\(module.rawValue))")
        }
        return (moduleName, layer, module, isA)
    }
}

/// The keys of `adapter_config.json` this engine reads, checked; options it cannot apply exactly
/// are errors rather than silently ignored.
struct LoRAConfig {
    let rank: Int
    let alpha: Double
    let useRSLoRA: Bool
    /// A list of module names, or one regular expression matched against the whole module name.
    let targetList: [String]?
    let targetRegex: NSRegularExpression?
    let allLinear: Bool
    let rankPattern: [(key: String, value: Int)]
    let alphaPattern: [(key: String, value: Double)]
    let layersToTransform: Set<Int>?

    init(path: String) throws {
        let file = LoRAAdapter.configFile
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw LoRAError("cannot read \(path)") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw LoRAError("\(file) is not valid JSON (\(path))")
        }
        guard let json = object as? [String: Any] else { throw LoRAError("\(file) is not a JSON object") }

        func int(_ key: String) throws -> Int? {
            guard let v = json[key], !(v is NSNull) else { return nil }
            guard let n = SafeTensorsFile.integer(v) else { throw LoRAError("\(file): '\(key)' must be an integer (is \(UntrustedText.excerpt(describing: v)))") }
            return n
        }
        func number(_ key: String) throws -> Double? {
            guard let v = json[key], !(v is NSNull) else { return nil }
            guard !isJSONBool(v), let d = (v as? NSNumber)?.doubleValue, d.isFinite else {
                throw LoRAError("\(file): '\(key)' must be a number (is \(UntrustedText.excerpt(describing: v)))")
            }
            return d
        }
        func bool(_ key: String) throws -> Bool? {
            guard let v = json[key], !(v is NSNull) else { return nil }
            guard isJSONBool(v), let b = v as? Bool else { throw LoRAError("\(file): '\(key)' must be true or false (is \(UntrustedText.excerpt(describing: v)))") }
            return b
        }

        if let type = json["peft_type"], !(type is NSNull) {
            guard let s = type as? String, s.uppercased() == "LORA" else {
                throw LoRAError("\(file): peft_type '\(UntrustedText.excerpt(describing: type))' is not LORA")
            }
        }
        guard let r = try int("r") else { throw LoRAError("\(file): missing 'r' (the rank)") }
        guard r > 0 && r <= 65_536 else { throw LoRAError("\(file): 'r' is \(r), must be positive") }
        rank = r
        guard let a = try number("lora_alpha") else { throw LoRAError("\(file): missing 'lora_alpha'") }
        alpha = a
        useRSLoRA = try bool("use_rslora") ?? false

        // Options whose effect this engine does not reproduce.
        if try bool("use_dora") == true { throw LoRAError("\(file): use_dora is true; DoRA is not supported") }
        if try bool("fan_in_fan_out") == true {
            throw LoRAError("\(file): fan_in_fan_out is true (Conv1D weights, GPT-2 style); Llama adapters have it false")
        }
        if try bool("lora_bias") == true { throw LoRAError("\(file): lora_bias is true; LoRA biases are not supported") }
        if let bias = json["bias"], !(bias is NSNull) {
            guard let s = bias as? String else { throw LoRAError("\(file): 'bias' must be a string") }
            guard s == "none" else { throw LoRAError("\(file): bias is '\(UntrustedText.excerpt(s))'; only \"none\" is supported (trained biases are not applied)") }
        }
        if let m = json["modules_to_save"], !(m is NSNull) {
            guard let list = m as? [Any] else { throw LoRAError("\(file): modules_to_save must be a list or null") }
            if !list.isEmpty { throw LoRAError("\(file): modules_to_save \(UntrustedText.excerpt(describing: list)) is not supported (fully trained modules)") }
        }
        if let replication = json["layer_replication"], !(replication is NSNull) {
            throw LoRAError("\(file): layer_replication is not supported")
        }

        // target_modules: a list of names, or a regular expression string (or "all-linear").
        let known = LoRAModule.allCases.map(\.rawValue)
        guard let targets = json["target_modules"], !(targets is NSNull) else {
            throw LoRAError("\(file): missing 'target_modules'")
        }
        if let s = targets as? String {
            if s == "all-linear" {
                allLinear = true
                targetRegex = nil
            } else {
                allLinear = false
                do { targetRegex = try NSRegularExpression(pattern: "^(?:\(s))$") } catch {
                    throw LoRAError("\(file): target_modules '\(UntrustedText.excerpt(s))' is not a valid regular expression")
                }
            }
            targetList = nil
        } else if let list = targets as? [Any] {
            var names: [String] = []
            for item in list {
                guard let s = item as? String else { throw LoRAError("\(file): target_modules entry \(UntrustedText.excerpt(describing: item)) is not a string") }
                // Entries may be full module paths; the last component names the kind of module.
                let last = s.split(separator: ".").last.map(String.init) ?? s
                if last == "embed_tokens" {
                    throw LoRAError("\(file): target module 'embed_tokens' (LoRA on the token embedding) is not supported")
                }
                guard known.contains(last) else {
                    throw LoRAError("\(file): unknown target module '\(UntrustedText.excerpt(s))' (supported: \(known.joined(separator: ", ")))")
                }
                names.append(s)
            }
            guard !names.isEmpty else { throw LoRAError("\(file): target_modules is empty") }
            targetList = names
            targetRegex = nil
            allLinear = false
        } else {
            throw LoRAError("\(file): target_modules must be a list of module names or a string")
        }

        func pattern<T>(_ key: String, _ convert: (Any) -> T?) throws -> [(key: String, value: T)] {
            guard let v = json[key], !(v is NSNull) else { return [] }
            guard let dict = v as? [String: Any] else { throw LoRAError("\(file): '\(key)' must be an object") }
            return try dict.keys.sorted().map { k in
                guard let value = convert(dict[k]!) else { throw LoRAError("\(file): \(key)['\(UntrustedText.excerpt(describing: k))'] is not a valid value (\(UntrustedText.excerpt(describing: dict[k]!)))") }
                return (k, value)
            }
        }
        rankPattern = try pattern("rank_pattern") { v in SafeTensorsFile.integer(v).flatMap { $0 > 0 ? $0 : nil } }
        alphaPattern = try pattern("alpha_pattern") { v in isJSONBool(v) ? nil : (v as? NSNumber)?.doubleValue }

        if let v = json["layers_to_transform"], !(v is NSNull) {
            if let n = SafeTensorsFile.integer(v) {
                layersToTransform = [n]
            } else if let list = v as? [Any] {
                layersToTransform = Set(try list.map { item -> Int in
                    guard let n = SafeTensorsFile.integer(item) else { throw LoRAError("\(file): layers_to_transform entry \(UntrustedText.excerpt(describing: item)) is not an integer") }
                    return n
                })
            } else {
                throw LoRAError("\(file): layers_to_transform must be an integer or a list")
            }
        } else {
            layersToTransform = nil
        }
    }

    /// Whether target_modules covers `moduleName` (PEFT: a list entry equals the name or its final
    /// components; a string is a regular expression for the whole name).
    func targets(moduleName: String, module: LoRAModule) -> Bool {
        if allLinear { return module != .lmHead }
        if let re = targetRegex {
            return re.firstMatch(in: moduleName, range: NSRange(moduleName.startIndex..., in: moduleName)) != nil
        }
        return targetList!.contains { moduleName == $0 || moduleName.hasSuffix("." + $0) }
    }

    /// PEFT's pattern lookup: the first key (in sorted order) that matches the end of the module name.
    private func patternKey(_ keys: [String], _ moduleName: String) -> String? {
        keys.first { key in
            guard let re = try? NSRegularExpression(pattern: "^(?:.*\\.)?(?:\(key))$") else { return moduleName == key }
            return re.firstMatch(in: moduleName, range: NSRange(moduleName.startIndex..., in: moduleName)) != nil
        }
    }

    func rank(for moduleName: String) -> Int {
        guard let key = patternKey(rankPattern.map(\.key), moduleName) else { return rank }
        return rankPattern.first { $0.key == key }!.value
    }

    func alpha(for moduleName: String) -> Double {
        guard let key = patternKey(alphaPattern.map(\.key), moduleName) else { return alpha }
        return alphaPattern.first { $0.key == key }!.value
    }
}
