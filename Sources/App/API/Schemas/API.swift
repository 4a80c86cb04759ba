/// The request and response bodies `openapi.yaml` describes, one type per schema and named as
/// there (`API.Summary` is `#/components/schemas/Summary`), apart from the records they show.
enum API {}
