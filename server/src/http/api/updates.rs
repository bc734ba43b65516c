//! Image updates over the JSON API: what the checks found, for viewers; a check now, for
//! operators (it makes requests to registries, which may limit them).

use super::mount::{Api, Call, Reading};
use crate::{docker::mapping::inspect, error::Error, updates::Scope};
use app::model::{CheckUpdates, ListUpdates, Updates};

pub fn routes(api: Api) -> Api {
    api.read(|r: Reading, ListUpdates {}| async move { r.updates.list(&r.on).await })
        .call(check)
}

/// Every running container's image, or one container's: 404 for an unknown container,
/// 409 for one that is not running (only running containers are checked).
async fn check((): (), call: Call<CheckUpdates>) -> Result<Updates, Error> {
    let scope = match &call.query.container {
        None => Scope::All,
        Some(reference) => {
            let container = inspect(&call.on.engine, reference).await?;
            let running = container.state.and_then(|s| s.running).unwrap_or(false);
            if !running {
                return Err(Error::new(
                    409,
                    format!("{reference} is not running: only running containers are checked"),
                ));
            }
            Scope::Container(container.id.unwrap_or_default())
        }
    };
    call.state.updates.check(call.on.clone(), scope).await
}
