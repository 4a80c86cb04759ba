import Testing
@testable import App

@Suite struct JSONValueTests {
    @Test func findsNULAnywhereInside() throws {
        #expect(try JSONValue.parse(Array(#"{"a":[1,{"b":"x"}],"c":null}"#.utf8)).containsNUL == false)
        #expect(try JSONValue.parse(Array(#"{"a":[1,{"b":"x\u0000"}]}"#.utf8)).containsNUL)
        #expect(try JSONValue.parse(Array(#"{"a\u0000":1}"#.utf8)).containsNUL)
        #expect(try JSONValue.parse(Array(#"["\u0000"]"#.utf8)).containsNUL)
        #expect(JSONValue.string("\u{0}").containsNUL)
        #expect(!JSONValue.string("\u{1}").containsNUL)
    }

    @Test func measuresNestingOutsideStringsOnly() {
        func deeper(_ text: String, than limit: Int) -> Bool { JSONValue.nests(Array(text.utf8), deeperThan: limit) }
        #expect(!deeper("1", than: 0) && deeper("[]", than: 0) && !deeper("[]", than: 1))
        #expect(!deeper(#"{"a":[1,{"b":[]}],"c":[]}"#, than: 4) && deeper(#"{"a":[1,{"b":[]}],"c":[]}"#, than: 3))
        #expect(!deeper(#"["[[[[", "{{{{"]"#, than: 1), "brackets in strings are text")
        #expect(!deeper(#"["\"[[[[\\", "\"{{"]"#, than: 1), "escaped quotes and backslashes do not end a string")
        #expect(!deeper("[[]][[]][[]]", than: 2), "siblings do not add up")
    }
}
