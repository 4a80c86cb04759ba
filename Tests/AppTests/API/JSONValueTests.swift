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
}
