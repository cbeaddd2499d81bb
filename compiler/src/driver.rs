//! The compiler pipeline: load the program and its imports, elaborate to IR,
//! run the passes, allocate registers and emit bytecode.

use crate::ast::Item;
use crate::diag::Diagnostic;
use crate::elaborate::math::PRELUDE;
use crate::elaborate::{Elaborator, ModuleInfo, Options, BUILTINS};
use crate::lexer::{tokens, LexError, Tok};
use crate::source::{FileId, SourceMap, Span};
use crate::{codegen, ir, passes};
use lalrpop_util::ParseError;
use mpcvm::bytecode::Program;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The standard library, built into the compiler so `mpcc` works from anywhere.
const STDLIB: &[(&str, &str)] = &[
    ("nn", include_str!("../../stdlib/nn.mpc")),
    ("tflite", include_str!("../../stdlib/tflite.mpc")),
    ("train", include_str!("../../stdlib/train.mpc")),
    (PRELUDE, include_str!("../../stdlib/math.mpc")),
];

/// A successful compilation.
pub struct Compiled {
    pub sources: SourceMap,
    /// The IR after all passes: every instance, `main` last.
    pub module: ir::Module,
    pub program: Program,
    pub bytes: Vec<u8>,
}

/// A failed compilation: the diagnostic and the sources it points into.
pub struct Failure {
    pub sources: SourceMap,
    pub diagnostic: Diagnostic,
}

impl Failure {
    pub fn render(&self) -> String {
        self.diagnostic.render(&self.sources)
    }
}

fn describe_expected(expected: &[String]) -> String {
    let names: Vec<String> = expected
        .iter()
        .take(8)
        .map(|e| e.trim_matches('"').replace("\\\"", "\""))
        .map(|e| e.trim_matches('"').to_string())
        .collect();
    let more = if expected.len() > 8 { ", ..." } else { "" };
    format!("{}{more}", names.join(", "))
}

fn parse_error(file: FileId, text: &str, e: ParseError<usize, Tok, LexError>) -> Diagnostic {
    match e {
        ParseError::User {
            error: LexError { start, .. },
        } if text[start..].starts_with('"') => Diagnostic::new(
            Span::new(file, start, start + 1),
            "a text that is not closed on its line or holds a control character",
        )
        .label("this text")
        .help(r#"a text is one line between double quotes, without tabs or other control characters; write \" for a quote and \\ for a backslash"#),
        ParseError::InvalidToken { location }
        | ParseError::User {
            error: LexError {
                start: location, ..
            },
        } => Diagnostic::new(
            Span::new(file, location, location + 1),
            "invalid character or malformed number",
        )
        .label("not part of the language")
        .help("remove it; numbers are decimal (e.g. 42 or 0.5), comments start with //"),
        ParseError::UnrecognizedEof { location, expected } => Diagnostic::new(
            Span::new(file, location, location),
            "unexpected end of file",
        )
        .label(format!("expected {}", describe_expected(&expected)))
        .help("close every `{`, `(` and `[`, and end statements with `;`"),
        ParseError::UnrecognizedToken {
            token: (l, t, r),
            expected,
        } => {
            let wants = describe_expected(&expected);
            let help = if expected.iter().any(|e| e.contains("\";\"")) {
                "a statement may be missing its `;`".to_string()
            } else if matches!(
                t,
                Tok::Sint
                    | Tok::Int
                    | Tok::Sfix
                    | Tok::Fix
                    | Tok::Sbit
                    | Tok::Bit
                    | Tok::Fn
                    | Tok::Let
                    | Tok::For
                    | Tok::If
                    | Tok::Party
                    | Tok::Const
                    | Tok::Return
                    | Tok::Reveal
                    | Tok::All
                    | Tok::To
                    | Tok::In
                    | Tok::As
                    | Tok::Mut
                    | Tok::Import
            ) {
                format!("{t} is a keyword; choose another name if you meant an identifier")
            } else {
                "see docs/LANGUAGE.md for the syntax".to_string()
            };
            Diagnostic::new(Span::new(file, l, r), format!("unexpected {t}"))
                .label(format!("expected {wants}"))
                .help(help)
        }
        ParseError::ExtraToken { token: (l, t, r) } => {
            Diagnostic::new(Span::new(file, l, r), format!("unexpected {t}")).help("remove it")
        }
    }
}

pub fn parse(sources: &SourceMap, file: FileId) -> Result<Vec<Item>, Diagnostic> {
    crate::grammar::ProgramParser::new()
        .parse(file, tokens(sources.text(file)))
        .map_err(|e| parse_error(file, sources.text(file), e))
}

/// Collects a module's declarations, checking for duplicates.
fn module_info(
    name: &str,
    file: FileId,
    items: &[Item],
    is_main: bool,
) -> Result<ModuleInfo, Diagnostic> {
    let mut info = ModuleInfo {
        name: name.to_string(),
        file,
        fns: HashMap::new(),
        consts: HashMap::new(),
        imports: HashSet::new(),
    };
    for item in items {
        match item {
            Item::Import(m) => {
                info.imports.insert(m.name.clone());
            }
            Item::Party { span, .. } if !is_main => {
                return Err(Diagnostic::new(
                    *span,
                    "parties are declared in the main program, not in modules",
                )
                .help("move this declaration to the program that imports the module"))
            }
            Item::Party { .. } => {}
            Item::Const {
                name, ty, value, ..
            } => {
                if info
                    .consts
                    .insert(name.name.clone(), (ty.clone(), value.clone()))
                    .is_some()
                {
                    return Err(Diagnostic::new(
                        name.span,
                        format!("constant `{}` is defined twice", name.name),
                    )
                    .help("rename one of them"));
                }
            }
            Item::Fn(f) => {
                check_returns(&f.body, true)?;
                // The prelude defines the builtins that are written in the language.
                if BUILTINS.contains(&f.name.name.as_str()) && name != PRELUDE {
                    return Err(Diagnostic::new(
                        f.name.span,
                        format!("`{}` is a builtin operation", f.name.name),
                    )
                    .help("choose another name"));
                }
                if info.fns.insert(f.name.name.clone(), f.clone()).is_some() {
                    return Err(Diagnostic::new(
                        f.name.span,
                        format!("function `{}` is defined twice", f.name.name),
                    )
                    .help("rename one of them"));
                }
            }
        }
    }
    Ok(info)
}

/// `return` may only end a function body: there is no early exit from code
/// that runs on secrets (checked for every function, called or not).
fn check_returns(block: &crate::ast::Block, top: bool) -> Result<(), Diagnostic> {
    use crate::ast::Stmt;
    for (k, s) in block.stmts.iter().enumerate() {
        match s {
            Stmt::Return { span, .. } if !top || k + 1 != block.stmts.len() => {
                return Err(Diagnostic::new(*span, "`return` must be the last statement of a function body")
                    .help("compute the result in a variable and return it at the end; select between values with select(c, a, b)"))
            }
            Stmt::For { body, .. } => check_returns(body, false)?,
            Stmt::If { then, otherwise, .. } => {
                check_returns(then, false)?;
                if let Some(o) = otherwise {
                    check_returns(o, false)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Finds an imported module: next to the importing file, then in the standard library.
fn find_module(name: &str, dir: Option<&Path>) -> Option<(String, String)> {
    if let Some(d) = dir {
        let p = d.join(format!("{name}.mpc"));
        if let Ok(text) = std::fs::read_to_string(&p) {
            return Some((p.display().to_string(), text));
        }
    }
    STDLIB
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, t)| (format!("<stdlib>/{n}.mpc"), t.to_string()))
}

/// Compiles a program given as text; `path` locates its imports.
pub fn compile_source(
    name: &str,
    text: &str,
    dir: Option<&Path>,
    options: Options,
) -> Result<Compiled, Box<Failure>> {
    let mut sources = SourceMap::default();
    let main_file = sources.add(name, text);
    match compile_inner(&mut sources, main_file, dir, options) {
        Ok((module, program)) => {
            let bytes = program.encode();
            Ok(Compiled {
                sources,
                module,
                program,
                bytes,
            })
        }
        Err(diagnostic) => Err(Box::new(Failure {
            sources,
            diagnostic,
        })),
    }
}

pub fn compile_file(path: &Path, options: Options) -> Result<Compiled, Box<Failure>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let mut sources = SourceMap::default();
            let f = sources.add(path.display().to_string(), "");
            return Err(Box::new(Failure {
                diagnostic: Diagnostic::new(
                    Span::new(f, 0, 0),
                    format!("cannot read {}: {e}", path.display()),
                )
                .help("check the path"),
                sources,
            }));
        }
    };
    compile_source(&path.display().to_string(), &text, path.parent(), options)
}

fn compile_inner(
    sources: &mut SourceMap,
    main_file: FileId,
    dir: Option<&Path>,
    options: Options,
) -> Result<(ir::Module, Program), Diagnostic> {
    let items = parse(sources, main_file)?;
    let mut modules = HashMap::new();
    let main_name = "main".to_string();
    let info = module_info(&main_name, main_file, &items, true)?;
    let mut pending: Vec<(crate::ast::Ident, Option<PathBuf>)> = items
        .iter()
        .filter_map(|i| {
            if let Item::Import(m) = i {
                Some((m.clone(), dir.map(Path::to_path_buf)))
            } else {
                None
            }
        })
        .collect();
    let parties: Vec<(crate::ast::Ident, u64)> = items
        .iter()
        .filter_map(|i| {
            if let Item::Party { name, id, .. } = i {
                Some((name.clone(), *id))
            } else {
                None
            }
        })
        .collect();
    modules.insert(main_name.clone(), info);
    // The prelude comes with every program, from the standard library.
    pending.insert(
        0,
        (
            crate::ast::Ident {
                name: PRELUDE.into(),
                span: Span::new(main_file, 0, 0),
            },
            None,
        ),
    );
    while let Some((m, from_dir)) = pending.pop() {
        if m.name == PRELUDE
            && from_dir
                .as_deref()
                .is_some_and(|d| d.join(format!("{PRELUDE}.mpc")).exists())
        {
            return Err(Diagnostic::new(m.span, format!("`{PRELUDE}` is the standard library's prelude, which every program has"))
                .help(format!("rename {PRELUDE}.mpc and its import; the prelude's functions are `{PRELUDE}::...` after `import {PRELUDE};`")));
        }
        if modules.contains_key(&m.name) {
            continue;
        }
        let Some((path, text)) = find_module(&m.name, from_dir.as_deref()) else {
            return Err(
                Diagnostic::new(m.span, format!("module `{}` not found", m.name)).help(format!(
                    "put {}.mpc next to the importing file; the standard library has: {}.{}",
                    m.name,
                    STDLIB
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", "),
                    crate::suggest::did_you_mean(&m.name, STDLIB.iter().map(|(n, _)| *n))
                )),
            );
        };
        let file = sources.add(path.clone(), text);
        let items = parse(sources, file)?;
        for i in &items {
            if let Item::Import(next) = i {
                pending.push((
                    next.clone(),
                    Path::new(&path).parent().map(Path::to_path_buf),
                ));
            }
        }
        modules.insert(m.name.clone(), module_info(&m.name, file, &items, false)?);
    }
    let mut elab = Elaborator::new(&modules, options);
    elab.run(&main_name, parties, Span::new(main_file, 0, 0))?;
    let mut module = elab.module;
    for f in module.functions.values() {
        if let Err(e) = ir::verify_function(f) {
            panic!(
                "internal compiler error: elaboration produced invalid IR in {}: {e}",
                f.name
            );
        }
    }
    passes::run_all(&mut module, options.mask_reuse).map_err(|e| {
        Diagnostic::new(Span::new(main_file, 0, 0), e).help("please report this bug")
    })?;
    let main = module.main.expect("elaboration sets main");
    let f = &module.functions[main];
    // Locations name files by their base name: the bytecode (and so its hash,
    // which the parties compare) must not depend on where the source was compiled.
    let locate = |span: Span| {
        let (line, col) = sources.line_col(span.file, span.start);
        let name = sources.name(span.file);
        let file = Path::new(name)
            .file_name()
            .map_or(name.into(), |f| f.to_string_lossy());
        format!("{file}:{line}:{col}")
    };
    let program = codegen::emit(f, codegen::allocate(f), module.parties, &locate);
    if let Err(e) = mpcvm::bytecode::verify(&program) {
        panic!("internal compiler error: emitted bytecode fails verification: {e}");
    }
    Ok((module, program))
}
