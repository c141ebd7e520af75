//! Who is asking: the user of a session (Jam.py's `user_info`) and the rights they have.

use crate::access::Access;
use crate::model::{Task, TenantSource};
use crate::types::Value;

/// Jam.py's `session['user_info']`: what server modules read and what `/api/login` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub user_id: i64,
    pub login: String,
    pub user_name: String,
    pub role_id: i64,
    pub role_name: String,
    /// The user's organisation, for tenancy by `tenant_id`.
    pub tenant_id: Option<i64>,
    /// The other keys a task's `on_login` returned (Jam.py lets it put anything JSON can hold in
    /// `user_info`): kept with the session for server modules; never sent to clients. Empty
    /// for the built-in login.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `None` for an anonymous request (only possible without safe mode).
    pub user: Option<UserInfo>,
    /// Index into `Task::roles`: the user's role, or the anonymous role. `None` only for an
    /// anonymous request of a project without safe mode and without an anonymous role, which
    /// has no restrictions (Jam.py's behaviour without safe mode).
    pub role: Option<usize>,
}

impl Caller {
    /// The rights this caller has.
    pub fn access<'t>(&self, task: &'t Task) -> &'t Access {
        task.access(self.role)
    }

    /// Whose rows this caller may see and change under the project's `[tenancy]`.
    pub fn tenant(&self, task: &Task) -> Tenant {
        let Some(tenancy) = &task.settings.tenancy else {
            return Tenant::All;
        };
        if self.role.is_some_and(|r| task.roles[r].all_tenants) {
            return Tenant::All;
        }
        let value = self.user.as_ref().and_then(|u| match tenancy.source {
            TenantSource::UserId => Some(u.user_id),
            TenantSource::TenantId => u.tenant_id,
        });
        match value {
            Some(v) => Tenant::Only(Value::Int(v)),
            // No session, or a user without an organisation under tenancy by tenant_id.
            None => Tenant::Nobody,
        }
    }

    /// The caller's own tenant value, if they have one (for rows an all-tenants role inserts).
    pub fn tenant_value(&self, task: &Task) -> Option<Value> {
        let tenancy = task.settings.tenancy.as_ref()?;
        let u = self.user.as_ref()?;
        match tenancy.source {
            TenantSource::UserId => Some(Value::Int(u.user_id)),
            TenantSource::TenantId => u.tenant_id.map(Value::Int),
        }
    }
}

/// Whose rows a statement may see or touch (built-in tenancy).
#[derive(Debug, Clone, PartialEq)]
pub enum Tenant {
    /// No tenancy in the project, a role that sees every tenant, or server code that asked
    /// for an unscoped dataset.
    All,
    /// Only rows whose tenant column holds this value.
    Only(Value),
    /// Nobody's: no session (or a user without an organisation). Covered items are refused.
    Nobody,
}
