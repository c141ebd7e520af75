//! Who is asking: the user of a session (Jam.py's `user_info`) and the rights they have.

use crate::access::Access;
use crate::model::Task;

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

    /// Server-side code with no session (e.g. the CLI): no restrictions.
    pub fn system() -> Caller {
        Caller {
            user: None,
            role: None,
        }
    }
}
