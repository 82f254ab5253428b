//! Who holds which role where: grants to users and to their groups, inherited grants
//! (OS-INHERIT) from a domain or a project above, and the roles those imply.

use super::{Actor, Grant, RoleRec, Store, Target};

impl Store {
    /// Every role, by id.
    pub fn roles(&self) -> impl Iterator<Item = &RoleRec> {
        self.roles.values()
    }

    /// A role by name (global roles only).
    pub fn role_by_name(&self, name: &str) -> Option<&RoleRec> {
        self.roles
            .values()
            .find(|r| r.name == name && r.domain_id.is_none())
    }

    /// The role ids implied by `role_ids`, transitively, `role_ids` included.
    pub(crate) fn expand_implied(&self, role_ids: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut todo: Vec<String> = role_ids.into_iter().collect();
        while let Some(id) = todo.pop() {
            if out.contains(&id) {
                continue;
            }
            for (prior, implied) in &self.implied {
                if prior == &id && !out.contains(implied) {
                    todo.push(implied.clone());
                }
            }
            out.push(id);
        }
        out
    }

    /// The roles `role_id` implies, transitively, each once, with the role that implies it
    /// directly, in the order Keystone's `add_implied_roles` finds them (the rules of a role in
    /// their order, then those of the last role found first).
    pub(crate) fn implied_with_priors(&self, role_id: &str) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = Vec::new();
        let mut todo = vec![role_id.to_owned()];
        while let Some(prior) = todo.pop() {
            for (p, implied) in &self.implied {
                if p == &prior && implied != role_id && !found.iter().any(|(r, _)| r == implied) {
                    found.push((implied.clone(), prior.clone()));
                    todo.push(implied.clone());
                }
            }
        }
        found
    }

    /// The roles granted to `actor` itself on `target` (a user's without their groups'), the
    /// inherited ones (`inherited`) or the others.
    pub(crate) fn actor_roles(
        &self,
        actor: &Actor,
        target: &Target,
        inherited: bool,
    ) -> Vec<String> {
        self.grants
            .iter()
            .filter(|g| &g.actor == actor && &g.target == target && g.inherited == inherited)
            .map(|g| g.role_id.clone())
            .collect()
    }

    /// The projects above `project_id`, nearest first.
    pub(crate) fn ancestors(&self, project_id: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut at = self.projects.get(project_id);
        while let Some(p) = at {
            match &p.parent_id {
                Some(parent) if parent != &p.domain_id && !found.contains(parent) => {
                    found.push(parent.clone());
                    at = self.projects.get(parent);
                }
                _ => break,
            }
        }
        found
    }

    /// Whether `g` gives its role on `target`: a grant on the target itself, or (OS-INHERIT)
    /// an inherited grant on the project's domain or on a project above it.
    pub(crate) fn grant_applies(&self, g: &Grant, target: &Target) -> bool {
        if !g.inherited {
            return &g.target == target;
        }
        let Target::Project(p) = target else {
            return false;
        };
        match &g.target {
            Target::Domain(d) => self.projects.get(p).is_some_and(|rec| &rec.domain_id == d),
            Target::Project(above) => self.ancestors(p).contains(above),
            Target::System => false,
        }
    }

    /// The projects an inherited grant on `target` reaches: a domain's projects, or every
    /// project under a project.
    pub(crate) fn inheriting_projects(&self, target: &Target) -> Vec<String> {
        match target {
            Target::Domain(d) => self
                .projects
                .values()
                .filter(|p| &p.domain_id == d)
                .map(|p| p.id.clone())
                .collect(),
            Target::Project(p) => self.subtree(p).into_iter().skip(1).collect(),
            Target::System => Vec::new(),
        }
    }

    /// The name and the domain of a user or group, when it exists.
    pub(crate) fn actor_named(&self, actor: &Actor) -> Option<(&str, &str)> {
        match actor {
            Actor::User(id) => self
                .users
                .get(id)
                .map(|u| (u.name.as_str(), u.domain_id.as_str())),
            Actor::Group(id) => self
                .groups
                .get(id)
                .map(|g| (g.name.as_str(), g.domain_id.as_str())),
        }
    }

    /// The domain of a user or group, when it exists.
    pub(crate) fn actor_domain(&self, actor: &Actor) -> Option<&str> {
        self.actor_named(actor).map(|(_, domain)| domain)
    }

    /// The ids of the groups `user_id` is a member of.
    pub(crate) fn groups_of<'a>(&'a self, user_id: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.members
            .iter()
            .filter(move |(_, u)| u == user_id)
            .map(|(g, _)| g.as_str())
    }

    /// The roles `user_id` holds on `target` through grants to them or to a group they are a
    /// member of, on the target or inherited from above it, each once (implied roles not yet
    /// added).
    pub(crate) fn direct_roles(&self, user_id: &str, target: &Target) -> Vec<String> {
        let groups: Vec<&str> = self.groups_of(user_id).collect();
        let mut roles: Vec<String> = Vec::new();
        for g in &self.grants {
            let holds = match &g.actor {
                Actor::User(u) => u == user_id,
                Actor::Group(group) => groups.contains(&group.as_str()),
            };
            if holds && self.grant_applies(g, target) && !roles.contains(&g.role_id) {
                roles.push(g.role_id.clone());
            }
        }
        roles
    }

    /// `project_id` and every project under it.
    pub(crate) fn subtree(&self, project_id: &str) -> Vec<String> {
        let mut found = vec![project_id.to_owned()];
        let mut i = 0;
        while i < found.len() {
            let parent = found[i].clone();
            found.extend(
                self.projects
                    .values()
                    .filter(|p| p.parent_id.as_deref() == Some(parent.as_str()))
                    .map(|p| p.id.clone()),
            );
            i += 1;
        }
        found
    }

    /// The effective roles of `user_id` on `target`, as tokens carry them: implied ones
    /// included, domain-specific ones left out once they have given the roles they imply
    /// (Keystone's `_strip_domain_roles`).
    pub(crate) fn effective_roles(&self, user_id: &str, target: &Target) -> Vec<String> {
        let mut roles = self.delegable_roles(user_id, target);
        roles.retain(|r| !self.is_domain_role(r));
        roles
    }

    /// The effective roles of `user_id` on `target`, domain-specific ones kept: what a trustor
    /// holds to delegate (Keystone reads them unstripped for trusts).
    pub(crate) fn delegable_roles(&self, user_id: &str, target: &Target) -> Vec<String> {
        self.expand_implied(self.direct_roles(user_id, target))
    }

    /// Whether a role belongs to a domain (a domain-specific role).
    pub(crate) fn is_domain_role(&self, role_id: &str) -> bool {
        self.roles
            .get(role_id)
            .is_some_and(|r| r.domain_id.is_some())
    }
}
