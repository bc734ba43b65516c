//! One module per page.

mod admin;
mod all_containers;
mod container;
mod container_actions;
mod container_stats;
mod container_terminal;
mod containers;
mod dashboard;
mod disk;
mod host_live;
mod image_pull;
mod node_labels;
mod not_found;
mod objects;
mod projects;
mod signin;
mod stack;
mod stack_files;
mod stack_runs;
mod stacks;
mod swarm;
mod swarm_actions;
mod swarm_objects;

pub use admin::{AdminAudit, AdminTokens, AdminUsers};
pub use all_containers::AllContainers;
pub use container::ContainerPage;
pub use containers::ContainerList;
pub use dashboard::{Dashboard, EngineDashboard};
pub use disk::DiskPage;
pub use not_found::NotFound;
pub use objects::{ImagePage, ImagesPage, NetworksPage, VolumesPage};
pub use projects::{ProjectList, ProjectPage};
pub use signin::{Login, Setup};
pub use stack::StackPage;
pub use stacks::{AllStacks, StackList};
pub use swarm::{ServicePage, SwarmPage};
