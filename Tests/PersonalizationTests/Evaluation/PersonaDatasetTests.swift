import Foundation
import Testing
@testable import Personalization

@Suite struct PersonaDatasetTests {
    static let pair = #"{"prompt":"q","chosen":"a","rejected":"b"}"#
    static func line(_ id: String, persona: String = "\"likes a\"", held: String? = nil) -> String {
        #"{"user_id":"\#(id)","persona":\#(persona),"traits":["t"],"signals":[\#(pair),\#(pair)],"held_out":[\#(held ?? pair)]}"#
    }

    @Test func loadsValidLinesAndSkipsBlankOnes() throws {
        let data = Data((Self.line("u1") + "\n\n" + Self.line("u2") + "\r\n").utf8)
        let dataset = try PersonaDataset.parse(data)
        #expect(dataset.users.map(\.id) == ["u1", "u2"])
        #expect(dataset.users[0].signals.count == 2 && dataset.users[0].heldOut.count == 1)
        #expect(dataset.users[0].traits == ["t"])
    }

    @Test func statementsAreOptionalAndJoinTheContext() throws {
        let withStatements = Self.line("u1").dropLast() + #","statements":["Skip the jokes, please."]}"#
        let dataset = try PersonaDataset.parse(Data((withStatements + "\n" + Self.line("u2")).utf8))
        #expect(dataset.users[0].contextSignals.statements == ["Skip the jokes, please."])
        #expect(dataset.users[0].contextSignals.pairs.count == 2)
        #expect(dataset.users[1].statements.isEmpty)
        let bad = Self.line("u1").dropLast() + #","statements":["ok", 3]}"#
        #expect(throws: DatasetError(line: 1, message: "statements[1]: must be a non-empty string")) {
            try PersonaDataset.parse(Data(bad.utf8))
        }
    }

    @Test func aPairsDimensionIsOptionalAndKeptInOrder() throws {
        let labelled = #"{"prompt":"q","chosen":"a","rejected":"b","dimension":"d"}"#
        let line = #"{"user_id":"u","signals":[\#(labelled),\#(Self.pair)],"held_out":[\#(labelled)]}"#
        let user = try PersonaDataset.parse(Data(line.utf8)).users[0]
        #expect(user.dimensions == ["d", nil, "d"])
        #expect(user.labelledPairs.map(\.dimension) == ["d", nil, "d"])
        #expect(try PersonaDataset.parse(Data(Self.line("u1").utf8)).users[0].dimensions == [nil, nil, nil])
        let bad = #"{"user_id":"u","signals":[\#(Self.pair),{"prompt":"q","chosen":"a","rejected":"b","dimension":7}],"held_out":[\#(Self.pair)]}"#
        #expect(throws: DatasetError(line: 1, message: "signals[1].dimension: must be a non-empty string")) {
            try PersonaDataset.parse(Data(bad.utf8))
        }
    }

    @Test func errorsNameTheLineAndField() {
        let cases: [(String, String)] = [
            (Self.line("u1") + "\n{not json", "dataset line 2: not valid JSON"),
            (Self.line("u1") + "\n" + Self.line("u1"), "dataset line 2: user_id \"u1\" appears twice"),
            (Self.line("u1", persona: "\"\""), "dataset line 1: persona: must be a non-empty string"),
            (Self.line("u1", held: #"{"prompt":"q","chosen":"a"}"#), "dataset line 1: held_out[0].rejected: must be a non-empty string"),
            (Self.line("u1", held: #"{"prompt":"q","chosen":"a","rejected":"a"}"#), "dataset line 1: held_out[0]: chosen and rejected are identical"),
            (#"{"user_id":"u","persona":"p","signals":[],"held_out":[]}"#, "dataset line 1: signals: must be a non-empty list of pairs"),
            ("[1,2]", "dataset line 1: a line must be a JSON object"),
            ("", "dataset: the dataset has no users"),
        ]
        for (text, message) in cases {
            #expect(throws: DatasetError.self) { try PersonaDataset.parse(Data(text.utf8)) }
            do {
                _ = try PersonaDataset.parse(Data(text.utf8))
            } catch {
                #expect("\(error)" == message)
            }
        }
        let invalidUTF8 = Data(Self.line("u1").utf8) + Data([0x0A, 0xFF, 0xFE, 0x0A])
        #expect(throws: DatasetError(line: 2, message: "not valid UTF-8")) { try PersonaDataset.parse(invalidUTF8) }
    }
}
