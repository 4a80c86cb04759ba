/// A chat template: how a conversation becomes the token ids a model was trained on.
///
/// popi has no Jinja engine; it recognises the template in `tokenizer.chat_template` by its
/// control tokens and renders the known families itself. Rendering produces segments: the
/// template's own control tokens, and text. Text segments, which hold the messages' contents,
/// are always tokenized in plain mode, so a user typing `<|im_start|>` gets those characters,
/// never the control token. Adjacent text is tokenized as one piece, exactly as llama.cpp
/// tokenizes the whole formatted prompt.
public struct ChatTemplate: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// `<|im_start|>role\ncontent<|im_end|>\n` (SmolLM2, Qwen2, ...).
        case chatml
        /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>`, after BOS.
        case llama3

        /// The family named by a `--chat-template` value.
        public init(argument: String) throws {
            guard let kind = Kind(rawValue: argument) else { throw ChatTemplateError.unknownKind(argument) }
            self = kind
        }
    }

    public enum Segment: Sendable, Equatable {
        /// A control token of the template, by its text.
        case control(String)
        case text(String)
    }

    public let kind: Kind
    /// Inserted as the first message when a conversation does not start with a system message
    /// (SmolLM2's "You are a helpful AI assistant named SmolLM, ...").
    public let defaultSystemMessage: String?

    public init(kind: Kind, defaultSystemMessage: String? = nil) {
        self.kind = kind
        self.defaultSystemMessage = defaultSystemMessage
    }

    /// The template of a model file: recognised from `tokenizer.chat_template`, or the family
    /// named by `override` (a ChatML override still takes the file's default system message).
    public init(gguf: GGUFFile, override: Kind? = nil) throws {
        let source = try gguf.string("tokenizer.chat_template")
        try self.init(source: source, override: override)
    }

    /// Recognises a Jinja chat template by its content.
    public init(source: String?, override: Kind? = nil) throws {
        let system = source.flatMap(Self.chatMLDefaultSystemMessage)
        if let override {
            self.init(kind: override, defaultSystemMessage: override == .chatml ? system : nil)
            return
        }
        guard let source, !source.isEmpty else { throw ChatTemplateError.missingTemplate }
        if source.contains("<|im_start|>") {
            self.init(kind: .chatml, defaultSystemMessage: system)
        } else if source.contains("<|start_header_id|>") {
            self.init(kind: .llama3)
        } else {
            throw ChatTemplateError.unrecognisedTemplate(excerpt: String(source.prefix(60)))
        }
    }

    /// The literal system turn a ChatML template writes when the first message is not a
    /// system message: `'<|im_start|>system\n<text><|im_end|>` with plain text (no expression).
    static func chatMLDefaultSystemMessage(_ source: String) -> String? {
        for opening in ["<|im_start|>system\n", "<|im_start|>system\\n"] {
            var rest = source[...]
            while let start = rest.firstRange(of: opening) {
                rest = rest[start.upperBound...]
                guard let end = rest.firstRange(of: "<|im_end|>") else { break }
                let text = rest[..<end.lowerBound]
                if !text.isEmpty, !text.contains(where: { "'\"{}".contains($0) }) {
                    return String(text).replacing("\\n", with: "\n")
                }
            }
        }
        return nil
    }

    /// The control token that ends a turn; scoring counts it as part of the response.
    public var endOfTurn: String {
        switch kind {
        case .chatml: return "<|im_end|>"
        case .llama3: return "<|eot_id|>"
        }
    }

    /// The conversation as segments; with `addGenerationPrompt`, ending with the header of an
    /// assistant turn for the model to continue.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> [Segment] {
        var segments: [Segment] = []
        switch kind {
        case .chatml:
            var turns = messages
            if let system = defaultSystemMessage, messages.first.map({ $0.role != .system }) ?? false {
                turns.insert(.system(system), at: 0)
            }
            for message in turns {
                segments += [.control("<|im_start|>"), .text("\(message.role.rawValue)\n\(message.content)"),
                             .control("<|im_end|>"), .text("\n")]
            }
            if addGenerationPrompt { segments += [.control("<|im_start|>"), .text("assistant\n")] }
        case .llama3:
            segments.append(.control("<|begin_of_text|>"))
            for message in messages {
                segments += [.control("<|start_header_id|>"), .text(message.role.rawValue), .control("<|end_header_id|>"),
                             .text("\n\n" + Self.jinjaTrim(message.content)), .control("<|eot_id|>")]
            }
            if addGenerationPrompt {
                segments += [.control("<|start_header_id|>"), .text("assistant"), .control("<|end_header_id|>"), .text("\n\n")]
            }
        }
        return segments
    }

    /// The formatted prompt as one string (for display and comparison with Jinja output).
    public func renderText(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        render(messages, addGenerationPrompt: addGenerationPrompt).map {
            switch $0 {
            case .control(let text), .text(let text): return text
            }
        }.joined()
    }

    /// Token ids of the conversation: control tokens by id, all text in plain mode.
    public func encode(_ messages: [ChatMessage], addGenerationPrompt: Bool, tokenizer: Tokenizer) throws -> [Int32] {
        try encode(render(messages, addGenerationPrompt: addGenerationPrompt), tokenizer: tokenizer)
    }

    /// Token ids of a given assistant response as the model would produce them after the
    /// generation prompt: its text in plain mode, then the end-of-turn token. Scoring sums
    /// the log-probabilities of exactly these tokens.
    public func encodeResponse(_ response: String, tokenizer: Tokenizer) throws -> [Int32] {
        try tokenizer.encode(response, mode: .plain) + [controlID(endOfTurn, tokenizer)]
    }

    func encode(_ segments: [Segment], tokenizer: Tokenizer) throws -> [Int32] {
        var ids: [Int32] = []
        var text = ""
        for segment in segments {
            switch segment {
            case .text(let piece):
                text += piece
            case .control(let name):
                if !text.isEmpty { ids += tokenizer.encode(text, mode: .plain) }
                text = ""
                ids.append(try controlID(name, tokenizer))
            }
        }
        if !text.isEmpty { ids += tokenizer.encode(text, mode: .plain) }
        return ids
    }

    private func controlID(_ name: String, _ tokenizer: Tokenizer) throws -> Int32 {
        if name == "<|begin_of_text|>", let bos = tokenizer.bos { return bos }
        guard let id = tokenizer.specialToken(name) else { throw ChatTemplateError.missingControlToken(name) }
        return id
    }

    /// Jinja's `trim` filter (Python's `str.strip()`): leading and trailing whitespace removed.
    static func jinjaTrim(_ text: String) -> String {
        func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace || (0x1C...0x1F).contains(s.value) }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }), let last = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(scalars[first...last])
    }
}
