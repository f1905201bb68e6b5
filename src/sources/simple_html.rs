//! PEP 503 HTML project pages (the Simple API without PEP 691 JSON): anchors are files (the
//! text is the file name, `href` its URL with an optional `#<algorithm>=<digest>`), with PEP 592
//! `data-yanked`, `data-requires-python`, PEP 658/714 `data-core-metadata` /
//! `data-dist-info-metadata`, and PEP 792 `<meta name="pypi:project-status">`. HTML carries no
//! upload times.
//!
//! Read with html5gum, a WHATWG-compliant tokenizer (html5lib's tokenizer tests pass): entities,
//! attribute quoting, comments, `<script>`/`<textarea>` raw text and broken markup are handled as
//! browsers and pip's parser do, and any byte sequence tokenizes in linear time without a panic.
//! Only tokens matter here (anchors, `meta`, `base`), so no tree is built.

use std::collections::BTreeMap;

use html5gum::{HtmlString, Token, Tokenizer};

use super::simple::{File, MetadataOffer, ProjectPage, StatusField, Yanked};
use super::strict::Object;

/// Most anchors read from one page: a page with more is not an index page we can trust.
const MAX_FILES: usize = 1_000_000;

/// Read a PEP 503 page. A body with no `<html>`, no anchor and no PEP 503 marker at all is not
/// a project page (an error, so that a login page or a proxy's notice is not "no files").
pub(super) fn parse(body: &[u8]) -> Result<ProjectPage, String> {
    let mut page = ProjectPage {
        html: true,
        ..ProjectPage::default()
    };
    let mut status: Option<String> = None;
    let mut status_reason: Option<String> = None;
    let mut base: Option<String> = None;
    let mut looks_like_html = false;
    // The anchor being read: its attributes and text so far.
    let mut open: Option<(BTreeMap<HtmlString, String>, String)> = None;
    for token in Tokenizer::new(body).flatten() {
        match token {
            Token::Doctype(_) => looks_like_html = true,
            Token::StartTag(tag) => {
                looks_like_html = true;
                let attrs: BTreeMap<HtmlString, String> = tag
                    .attributes
                    .into_iter()
                    .map(|(k, v)| (k, String::from_utf8_lossy(&v.value).into_owned()))
                    .collect();
                match tag.name.as_slice() {
                    b"a" => {
                        if let Some((attrs, text)) = open.take() {
                            push_file(&mut page, &attrs, &text)?;
                        }
                        open = Some((attrs, String::new()));
                        if tag.self_closing
                            && let Some((attrs, text)) = open.take()
                        {
                            push_file(&mut page, &attrs, &text)?;
                        }
                    }
                    b"meta" => match attr(&attrs, "name") {
                        Some("pypi:project-status") => {
                            status = attr(&attrs, "content").map(str::to_string);
                        }
                        Some("pypi:project-status-reason") => {
                            status_reason = attr(&attrs, "content").map(str::to_string);
                        }
                        _ => {}
                    },
                    b"base" if base.is_none() => base = attr(&attrs, "href").map(str::to_string),
                    _ => {}
                }
            }
            Token::String(text) => {
                if let Some((_, so_far)) = &mut open {
                    so_far.push_str(&String::from_utf8_lossy(&text.value));
                }
            }
            Token::EndTag(tag) if tag.name.as_slice() == b"a" => {
                if let Some((attrs, text)) = open.take() {
                    push_file(&mut page, &attrs, &text)?;
                }
            }
            _ => {}
        }
    }
    if let Some((attrs, text)) = open.take() {
        push_file(&mut page, &attrs, &text)?;
    }
    if !looks_like_html {
        return Err("not an HTML page (no tag at all)".to_string());
    }
    if let Some(base) = base {
        for file in &mut page.files {
            file.0.url = file.url.as_deref().map(|u| join(&base, u));
        }
    }
    page.project_status = status.map(|status| {
        Object(StatusField {
            status,
            reason: status_reason,
        })
    });
    Ok(page)
}

fn attr<'a>(attrs: &'a BTreeMap<HtmlString, String>, name: &str) -> Option<&'a str> {
    attrs.get(name.as_bytes()).map(String::as_str)
}

/// `<base href>` applied to a relative file URL (absolute URLs stay as they are).
fn join(base: &str, url: &str) -> String {
    match reqwest::Url::parse(base).and_then(|b| b.join(url)) {
        Ok(joined) => joined.to_string(),
        Err(_) => url.to_string(),
    }
}

/// One anchor as a file. Anchors without `href` are not files; the text is the file name
/// (trimmed), else the last path segment of the URL.
fn push_file(
    page: &mut ProjectPage,
    attrs: &BTreeMap<HtmlString, String>,
    text: &str,
) -> Result<(), String> {
    let Some(href) = attr(attrs, "href") else {
        return Ok(());
    };
    if page.files.len() >= MAX_FILES {
        return Err(format!("more than {MAX_FILES} links on one page"));
    }
    let (url, fragment) = href.split_once('#').unwrap_or((href, ""));
    let filename = match text.trim() {
        "" => url.rsplit('/').next().unwrap_or_default().to_string(),
        name => name.to_string(),
    };
    let hashes = fragment
        .split_once('=')
        .filter(|(algorithm, digest)| !algorithm.is_empty() && !digest.is_empty())
        .map(|(algorithm, digest)| {
            BTreeMap::from([(algorithm.to_ascii_lowercase(), digest.to_ascii_lowercase())])
        });
    let yanked = attr(attrs, "data-yanked").map(|reason| match reason.trim() {
        "" => Yanked::Flag(true),
        reason => Yanked::Reason(reason.to_string()),
    });
    let offer = |name| attr(attrs, name).map(metadata_offer);
    page.files.push(Object(File {
        filename,
        url: Some(href.to_string()),
        hashes,
        yanked,
        upload_time: None,
        requires_python: attr(attrs, "data-requires-python").map(str::to_string),
        core_metadata: offer("data-core-metadata"),
        dist_info_metadata: offer("data-dist-info-metadata"),
        dist_info_metadata_691: None,
    }));
    Ok(())
}

/// PEP 658/714 attribute value: `true`, or `<algorithm>=<digest>` of the metadata file.
fn metadata_offer(value: &str) -> MetadataOffer {
    match value.trim().split_once('=') {
        Some((algorithm, digest)) if !digest.is_empty() => {
            MetadataOffer::Hashes(BTreeMap::from([(
                algorithm.to_ascii_lowercase(),
                digest.to_ascii_lowercase(),
            )]))
        }
        // PEP 658: the attribute present means the file exists ("true" or any other value).
        _ => MetadataOffer::Flag(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ProjectState;
    use crate::sources::simple::{parse_html_page, release_files as release_files_of};

    const PAGE: &str = r#"<!DOCTYPE html>
<html><head>
<meta name="pypi:repository-version" content="1.4">
<meta name="pypi:project-status" content="Archived">
<meta name="pypi:project-status-reason" content="moved to demo2">
<title>Links for demo</title></head>
<body><h1>Links for demo</h1>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256=ABCD" data-requires-python="&gt;=3.8"
   data-core-metadata="sha256=beef" >demo-1.0-py3-none-any.whl</a><br/>
<a href="https://files.example/demo-1.0.tar.gz#md5=12" data-dist-info-metadata>demo-1.0.tar.gz</a>
<a href="../../files/demo-1.1.tar.gz" data-yanked="">demo-1.1.tar.gz</a>
<A HREF="../../files/demo-2.0.tar.gz" DATA-YANKED="broken &amp; bad">demo-2.0.tar.gz</A>
<a href="/files/demo-3.0rc1.tar.gz">
   demo-3.0rc1.tar.gz
</a>
<a name="no-href">not a file</a>
<!-- <a href="../../files/demo-9.0.tar.gz">demo-9.0.tar.gz</a> -->
</body></html>"#;

    #[test]
    fn anchors_are_files_with_their_attributes() {
        let (facts, info) = parse_html_page(PAGE.as_bytes(), "Demo", "1.0").unwrap();
        // 1.1 and 2.0 are yanked, 3.0rc1 a pre-release, 9.0 only in a comment.
        assert_eq!(facts.latest_version.as_deref(), Some("1.0"));
        assert_eq!(facts.available, ["1.0", "3.0rc1"]);
        let status = facts.status.unwrap();
        assert_eq!(status.status, ProjectState::Archived);
        assert_eq!(status.reason.as_deref(), Some("moved to demo2"));
        assert!(info.on_index && !info.yanked);
        assert_eq!(info.upload_time, None, "HTML has no upload times");
        assert!(info.no_upload_time.unwrap().contains("PEP 503 HTML"));

        let (_, two) = parse_html_page(PAGE.as_bytes(), "demo", "2.0").unwrap();
        assert!(two.yanked);
        assert_eq!(two.yanked_reason.as_deref(), Some("broken & bad"));
        let (_, one_one) = parse_html_page(PAGE.as_bytes(), "demo", "1.1").unwrap();
        assert!(one_one.yanked && one_one.yanked_reason.is_none());

        let page = parse(PAGE.as_bytes()).unwrap();
        let files = release_files_of(&page, "https://index.example/simple/demo/", "demo", "1.0");
        assert_eq!(files.len(), 2);
        assert_eq!(
            files[0].url,
            "https://index.example/files/demo-1.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some("abcd"));
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(files[0].core_metadata, Some(Some("beef".to_string())));
        // A bare `data-dist-info-metadata` offers the file without a hash.
        assert_eq!(files[1].url, "https://files.example/demo-1.0.tar.gz");
        assert_eq!(files[1].sha256, None);
        assert_eq!(files[1].core_metadata, Some(None));
        let gone = release_files_of(
            &page,
            "https://index.example/simple/demo/",
            "demo",
            "3.0rc1",
        );
        assert_eq!(
            gone[0].url,
            "https://index.example/files/demo-3.0rc1.tar.gz"
        );
    }

    #[test]
    fn base_href_and_unclosed_anchors() {
        let page = parse(
            b"<html><base href='https://mirror.example/pkgs/'><a href='demo-1.0.zip'>demo-1.0.zip<a href=x>demo-1.1.zip",
        )
        .unwrap();
        let files = release_files_of(&page, "https://index.example/simple/demo/", "demo", "1.0");
        assert_eq!(files[0].url, "https://mirror.example/pkgs/demo-1.0.zip");
        assert_eq!(page.files.len(), 2);
        assert_eq!(page.files[1].filename, "demo-1.1.zip");
    }

    #[test]
    fn what_is_not_html_is_an_error_and_hostile_html_is_survived() {
        assert!(parse(b"").is_err());
        assert!(parse(b"just some text, no markup").is_err());
        assert!(parse(b"{\"files\": []}").is_err());
        // A page with no anchor is a project without files, as PEP 503 allows.
        assert!(
            parse(b"<html><body></body></html>")
                .unwrap()
                .files
                .is_empty()
        );
        let mut hostile = Vec::new();
        hostile.extend_from_slice(b"<html>");
        hostile.extend(std::iter::repeat_n(b"<a href=\"x\" data-yanked='", 2000).flatten());
        hostile.extend(std::iter::repeat_n(b"<<<&#xFFFFFFFF;&amp\xff\xfe<!--", 2000).flatten());
        hostile.extend_from_slice(b"<script><a href='y'>in script</a>");
        let page = parse(&hostile).unwrap();
        assert!(page.files.len() <= 2000);
    }
}
