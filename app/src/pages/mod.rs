//! One module per page.

mod admin;
mod container;
mod container_stats;
mod containers;
mod dashboard;
mod host_live;
mod not_found;
mod projects;
mod signin;

pub use admin::{AdminAudit, AdminTokens, AdminUsers};
pub use container::ContainerPage;
pub use containers::ContainerList;
pub use dashboard::Dashboard;
pub use not_found::NotFound;
pub use projects::{ProjectList, ProjectPage};
pub use signin::{Login, Setup};
