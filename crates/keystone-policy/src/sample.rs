//! A documented sample policy file from registered defaults, as oslopolicy-sample-generator
//! writes it (YAML, every rule commented out).

use crate::enforcer::RuleDefault;

fn help(text: &str) -> String {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::from("#");
        for word in paragraph.split_whitespace() {
            if line.len() + 1 + word.len() > 70 && line.len() > 1 {
                lines.push(line);
                line = String::from("#");
            }
            line.push(' ');
            line.push_str(word);
        }
        lines.push(line);
    }
    lines.join("\n")
}

/// One rule's entry.
pub fn format_rule(d: &RuleDefault) -> String {
    let rule = format!("\"{}\": \"{}\"\n", d.name, d.check_str);
    let ops: String = d
        .operations
        .iter()
        .filter(|o| !o.method.is_empty() && !o.path.is_empty())
        .map(|o| format!("# {}  {}\n", o.method, o.path))
        .collect();
    let scope = if d.scope_types.is_empty() {
        String::new()
    } else {
        format!("# Intended scope(s): {}\n", d.scope_types.join(", "))
    };
    let mut text = format!("{ops}{scope}#{rule}\n");
    if let Some(desc) = &d.description {
        text = format!("{}\n{text}", help(desc));
    }
    if d.deprecated_for_removal {
        text = format!(
            "# DEPRECATED\n# \"{}\" has been deprecated since {}.\n{}\n{text}",
            d.name,
            d.deprecated_since.as_deref().unwrap_or("None"),
            help(d.deprecated_reason.as_deref().unwrap_or("None"))
        );
    } else if let Some(dep) = &d.deprecated_rule {
        let reason = dep
            .deprecated_reason
            .as_deref()
            .or(d.deprecated_reason.as_deref())
            .unwrap_or("None");
        let since = dep
            .deprecated_since
            .as_deref()
            .or(d.deprecated_since.as_deref())
            .unwrap_or("None");
        let dep_text = format!(
            "\"{}\":\"{}\" has been deprecated since {since} in favor of \"{}\":\"{}\".",
            dep.name, dep.check_str, d.name, d.check_str
        );
        text = format!(
            "{text}# DEPRECATED\n{}\n{}\n",
            help(&dep_text),
            help(reason)
        );
        if d.name != dep.name {
            text.push_str(
                "# WARNING: A rule name change has been identified.\n\
                 #          This may be an artifact of new rules being\n\
                 #          included which require legacy fallback\n\
                 #          rules to ensure proper policy behavior.\n\
                 #          Alternatively, this may just be an alias.\n\
                 #          Please evaluate on a case by case basis\n\
                 #          keeping in mind the format for aliased\n\
                 #          rules is:\n\
                 #          \"old_rule_name\": \"new_rule_name\".\n",
            );
            text.push_str(&format!("# \"{}\": \"rule:{}\"\n", dep.name, d.name));
        }
        text.push('\n');
    }
    text
}

/// The whole sample file.
pub fn sample(defaults: &[RuleDefault]) -> String {
    defaults.iter().map(format_rule).collect()
}
