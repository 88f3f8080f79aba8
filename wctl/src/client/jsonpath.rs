//! kubectl's JSONPath templates (`-o jsonpath=...`, `custom-columns`, `wait --for=jsonpath=`): text with `{...}`
//! expressions. Supported: `$` and `@`, `.field` (with `\.` for a dot in a key), `['key']`, `[n]` (negative from the
//! end), `[a:b]`, `[*]`, `.*`, `..field`, filters `[?(@.path)]` and `[?(@.path OP literal)]` with `== != < <= > >=`,
//! `{range ...}...{end}` and quoted literals such as `{"\n"}`. Several matches print separated by spaces.

use anyhow::bail;
use serde_json::Value;

/// A parsed template.
#[derive(Clone, Debug)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Clone, Debug)]
enum Node {
    Text(String),
    Path(Path),
    Range(Path, Vec<Node>),
}

/// A path expression: where it starts and its steps.
#[derive(Clone, Debug, Default)]
pub struct Path {
    from_root: bool,
    steps: Vec<Step>,
}

#[derive(Clone, Debug)]
enum Step {
    Field(String),
    Wildcard,
    Descend(String),
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    Filter(Filter),
}

#[derive(Clone, Debug)]
struct Filter {
    path: Path,
    comparison: Option<(Op, Value)>,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Template {
    /// Parses a template: `{.metadata.name}`, `{range .items[*]}{.metadata.name}{"\n"}{end}`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut stack: Vec<(Option<Path>, Vec<Node>)> = vec![(None, Vec::new())];
        let mut rest = text;
        while !rest.is_empty() {
            let Some(open) = rest.find('{') else {
                push_node(&mut stack, Node::Text(rest.to_owned()));
                break;
            };
            if open > 0 {
                push_node(&mut stack, Node::Text(rest[..open].to_owned()));
            }
            let close = matching_brace(&rest[open..])
                .ok_or_else(|| anyhow::anyhow!("unclosed action in JSONPath template {text:?}"))?;
            let action = rest[open + 1..open + close].trim();
            rest = &rest[open + close + 1..];
            if let Some(range) = action.strip_prefix("range ") {
                stack.push((Some(Path::parse(range.trim())?), Vec::new()));
            } else if action == "end" {
                let (Some(path), nodes) = stack.pop().unwrap_or_default() else {
                    bail!("{{end}} without {{range}} in JSONPath template {text:?}");
                };
                push_node(&mut stack, Node::Range(path, nodes));
            } else if action.starts_with('"') || action.starts_with('\'') {
                push_node(&mut stack, Node::Text(unquote(action)?));
            } else {
                push_node(&mut stack, Node::Path(Path::parse(action)?));
            }
        }
        match stack.pop() {
            Some((None, nodes)) if stack.is_empty() => Ok(Self { nodes }),
            _ => bail!("{{range}} without {{end}} in JSONPath template {text:?}"),
        }
    }

    /// Renders the template against `root`.
    pub fn render(&self, root: &Value) -> String {
        let mut out = String::new();
        render_nodes(&self.nodes, root, root, &mut out);
        out
    }
}

fn push_node(stack: &mut [(Option<Path>, Vec<Node>)], node: Node) {
    if let Some((_, nodes)) = stack.last_mut() {
        nodes.push(node);
    }
}

/// The index of the `}` closing the `{` at the start of `text`, skipping braces inside quotes.
fn matching_brace(text: &str) -> Option<usize> {
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (Some(_), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '}') => return Some(i),
            _ => {}
        }
        escaped = false;
    }
    None
}

/// A quoted literal, with JSON's escapes (`\n`, `\t`).
fn unquote(text: &str) -> anyhow::Result<String> {
    let json = match text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        Some(inner) => format!("\"{}\"", inner.replace('"', "\\\"")),
        None => text.to_owned(),
    };
    serde_json::from_str(&json).map_err(|_| anyhow::anyhow!("invalid literal {text} in template"))
}

fn render_nodes(nodes: &[Node], root: &Value, current: &Value, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Path(path) => {
                let values = path.eval(root, current);
                let texts: Vec<String> = values.iter().map(|v| scalar_text(v)).collect();
                out.push_str(&texts.join(" "));
            }
            Node::Range(path, body) => {
                for item in path.eval(root, current) {
                    render_nodes(body, root, item, out);
                }
            }
        }
    }
}

/// How a matched value prints: strings bare, everything else as JSON.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Path {
    /// Parses `.a.b[0]`, `$.a`, `@.a`, `{.a}` (braces allowed, as custom-columns takes them).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let text = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')).unwrap_or(text).trim();
        let mut parser = Parser { chars: text.chars().collect(), at: 0, text };
        let path = parser.path()?;
        if parser.at < parser.chars.len() {
            bail!(
                "unexpected {:?} in JSONPath {text:?}",
                parser.chars[parser.at..].iter().collect::<String>()
            );
        }
        Ok(path)
    }

    /// Every value the path reaches.
    pub fn eval<'a>(&self, root: &'a Value, current: &'a Value) -> Vec<&'a Value> {
        let mut values = vec![if self.from_root { root } else { current }];
        for step in &self.steps {
            values = values.into_iter().flat_map(|value| step.apply(root, value)).collect();
        }
        values
    }
}

impl Step {
    fn apply<'a>(&self, root: &'a Value, value: &'a Value) -> Vec<&'a Value> {
        match self {
            Step::Field(name) => value.get(name.as_str()).into_iter().collect(),
            Step::Wildcard => match value {
                Value::Array(items) => items.iter().collect(),
                Value::Object(fields) => fields.values().collect(),
                _ => Vec::new(),
            },
            Step::Descend(name) => {
                let mut found = Vec::new();
                descend(value, name, &mut found);
                found
            }
            Step::Index(index) => {
                let Value::Array(items) = value else { return Vec::new() };
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let at = if *index < 0 { len + index } else { *index };
                usize::try_from(at).ok().and_then(|at| items.get(at)).into_iter().collect()
            }
            Step::Slice(start, end) => {
                let Value::Array(items) = value else { return Vec::new() };
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let clamp =
                    |i: i64| usize::try_from(if i < 0 { (len + i).max(0) } else { i.min(len) }).unwrap_or(0);
                let (from, to) = (clamp(start.unwrap_or(0)), clamp(end.unwrap_or(len)));
                items.get(from..to.max(from)).map(|s| s.iter().collect()).unwrap_or_default()
            }
            Step::Filter(filter) => {
                let candidates: Vec<&Value> = match value {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                candidates.into_iter().filter(|item| filter.matches(root, item)).collect()
            }
        }
    }
}

fn descend<'a>(value: &'a Value, name: &str, found: &mut Vec<&'a Value>) {
    match value {
        Value::Object(fields) => {
            if let Some(hit) = fields.get(name) {
                found.push(hit);
            }
            for child in fields.values() {
                descend(child, name, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| descend(item, name, found)),
        _ => {}
    }
}

impl Filter {
    fn matches(&self, root: &Value, item: &Value) -> bool {
        let values = self.path.eval(root, item);
        let Some((op, literal)) = &self.comparison else { return !values.is_empty() };
        values.iter().any(|value| compare(value, *op, literal))
    }
}

fn compare(value: &Value, op: Op, literal: &Value) -> bool {
    let ordering = match (value, literal) {
        (Value::Number(a), Value::Number(b)) => {
            a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b))
        }
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (a, b) => (a == b).then_some(std::cmp::Ordering::Equal),
    };
    match op {
        Op::Eq => ordering == Some(std::cmp::Ordering::Equal),
        Op::Ne => ordering != Some(std::cmp::Ordering::Equal),
        Op::Lt => ordering == Some(std::cmp::Ordering::Less),
        Op::Le => ordering.is_some_and(std::cmp::Ordering::is_le),
        Op::Gt => ordering == Some(std::cmp::Ordering::Greater),
        Op::Ge => ordering.is_some_and(std::cmp::Ordering::is_ge),
    }
}

struct Parser<'t> {
    chars: Vec<char>,
    at: usize,
    text: &'t str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn error(&self, what: &str) -> anyhow::Error {
        anyhow::anyhow!("{what} at position {} of JSONPath {:?}", self.at, self.text)
    }

    fn path(&mut self) -> anyhow::Result<Path> {
        let mut path = Path::default();
        if self.eat('$') {
            path.from_root = true;
        } else {
            self.eat('@');
        }
        loop {
            match self.peek() {
                Some('.') => {
                    self.at += 1;
                    if self.eat('.') {
                        path.steps.push(Step::Descend(self.identifier()?));
                    } else if self.eat('*') {
                        path.steps.push(Step::Wildcard);
                    } else if self.peek().is_some_and(|c| c != '.' && c != '[') {
                        path.steps.push(Step::Field(self.identifier()?));
                    }
                }
                Some('[') => {
                    self.at += 1;
                    path.steps.push(self.bracket()?);
                }
                _ => return Ok(path),
            }
        }
    }

    fn identifier(&mut self) -> anyhow::Result<String> {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c == '\\' && self.chars.get(self.at + 1) == Some(&'.') {
                name.push('.');
                self.at += 2;
            } else if c.is_alphanumeric() || matches!(c, '_' | '-' | '/') {
                name.push(c);
                self.at += 1;
            } else {
                break;
            }
        }
        if name.is_empty() {
            return Err(self.error("expected a field name"));
        }
        Ok(name)
    }

    fn bracket(&mut self) -> anyhow::Result<Step> {
        let step = if self.eat('*') {
            Step::Wildcard
        } else if self.eat('?') {
            if !self.eat('(') {
                return Err(self.error("expected ( after ?"));
            }
            let filter = self.filter()?;
            if !self.eat(')') {
                return Err(self.error("expected ) closing the filter"));
            }
            Step::Filter(filter)
        } else if matches!(self.peek(), Some('\'' | '"')) {
            Step::Field(self.quoted()?)
        } else {
            let start = self.integer()?;
            if self.eat(':') {
                Step::Slice(start, self.integer()?)
            } else {
                Step::Index(start.ok_or_else(|| self.error("expected an index, *, a slice or a filter"))?)
            }
        };
        if !self.eat(']') {
            return Err(self.error("expected ]"));
        }
        Ok(step)
    }

    fn integer(&mut self) -> anyhow::Result<Option<i64>> {
        let start = self.at;
        if self.peek() == Some('-') {
            self.at += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        if self.at == start {
            return Ok(None);
        }
        let digits: String = self.chars[start..self.at].iter().collect();
        digits.parse().map(Some).map_err(|_| self.error("expected an integer"))
    }

    fn quoted(&mut self) -> anyhow::Result<String> {
        let quote = self.peek().unwrap_or('\'');
        self.at += 1;
        let start = self.at;
        while self.peek().is_some_and(|c| c != quote) {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        if !self.eat(quote) {
            return Err(self.error("unterminated string"));
        }
        Ok(text)
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(' ') {
            self.at += 1;
        }
    }

    fn filter(&mut self) -> anyhow::Result<Filter> {
        self.skip_spaces();
        let path = self.path()?;
        self.skip_spaces();
        let op =
            [("==", Op::Eq), ("!=", Op::Ne), ("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)]
                .into_iter()
                .find(|(symbol, _)| {
                    let symbol: Vec<char> = symbol.chars().collect();
                    self.chars.get(self.at..self.at + symbol.len()) == Some(&symbol[..])
                });
        let Some((symbol, op)) = op else { return Ok(Filter { path, comparison: None }) };
        self.at += symbol.len();
        self.skip_spaces();
        let literal = if matches!(self.peek(), Some('\'' | '"')) {
            Value::String(self.quoted()?)
        } else {
            let start = self.at;
            while self.peek().is_some_and(|c| c != ')' && c != ' ') {
                self.at += 1;
            }
            let word: String = self.chars[start..self.at].iter().collect();
            serde_json::from_str(&word).map_err(|_| self.error("expected a string, number or boolean"))?
        };
        self.skip_spaces();
        Ok(Filter { path, comparison: Some((op, literal)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(template: &str, value: &Value) -> String {
        Template::parse(template).unwrap().render(value)
    }

    fn pods() -> Value {
        json!({"kind": "List", "items": [
            {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "web"}},
             "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "restarts": 3}},
            {"metadata": {"name": "b", "labels": {}},
             "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}], "restarts": 0}},
        ]})
    }

    #[test]
    fn paths_wildcards_indexes_and_slices() {
        let pods = pods();
        assert_eq!(render("{.items[*].metadata.name}", &pods), "a b");
        assert_eq!(render("{.items[0].status.phase}", &pods), "Running");
        assert_eq!(render("{.items[-1].metadata.name}", &pods), "b");
        assert_eq!(render("{.items[0:1].metadata.name}", &pods), "a");
        assert_eq!(render("{$.items[1]['metadata']['name']}", &pods), "b");
        assert_eq!(render("{..phase}", &pods), "Running Pending");
        assert_eq!(render(r"{.items[0].metadata.labels.app\.kubernetes\.io/name}", &pods), "web");
        assert_eq!(render("{.items[0].status.conditions[0]}", &pods), r#"{"status":"True","type":"Ready"}"#);
        assert_eq!(render("name: {.items[5].metadata.name}.", &pods), "name: .");
    }

    #[test]
    fn filters_and_ranges() {
        let pods = pods();
        assert_eq!(render(r#"{.items[?(@.status.phase=="Running")].metadata.name}"#, &pods), "a");
        assert_eq!(render("{.items[?(@.status.restarts > 1)].metadata.name}", &pods), "a");
        assert_eq!(render("{.items[?(@.status.restarts)].metadata.name}", &pods), "a b");
        assert_eq!(
            render(
                r#"{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=='Ready')].status}{"\n"}{end}"#,
                &pods
            ),
            "a=True\nb=False\n"
        );
    }

    #[test]
    fn malformed_templates_are_errors() {
        for bad in ["{.items[", "{range .items[*]}{.a}", "{end}", "{.a[?(@.b == )]}", "{.items[x]}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Path::parse("{.metadata.name}").unwrap().eval(&pods(), &pods()).len(), 0);
    }
}
