//! The steps after a conversion: `PATCH` requests Graph can take (`set-user-type-guest`),
//! journalled one by one so a resumed run skips those done, and steps Graph cannot take, left
//! to a person and listed in `manual-steps.csv`.

use super::account::{append, record};
use super::journal::{Event, Standing};
use super::{ApplyError, Context};
use crate::graph::GraphError;
use crate::plan::PlannedAccount;

/// The post-steps not done yet; the failures, in words. Steps Graph cannot take are
/// recorded as left to a person and listed in `manual-steps.csv`.
pub(super) fn post_steps(
    ctx: &Context,
    index: usize,
    account: &PlannedAccount,
    standing: &Standing,
    attempt: u32,
) -> Result<Vec<String>, ApplyError> {
    let mut failures = Vec::new();
    for step in &account.post_steps {
        if standing.steps_done.contains(&step.step) {
            continue;
        }
        let mut r = record(ctx, Event::PostStep, account, attempt);
        r.step = Some(step.step.clone());
        let Some(request) = &step.request else {
            r.result = Some("manual".into());
            r.reason = Some(step.description.clone());
            append(ctx, r)?;
            if let Ok(mut m) = ctx.manual.lock() {
                m.push(index);
            }
            continue;
        };
        let url = format!("{}{}", ctx.client.endpoints.graph, request.url);
        match ctx.client.patch(&url, &request.body) {
            Ok(()) => r.result = Some("done".into()),
            Err(e) => {
                r.result = Some("failed".into());
                r.status = e.status();
                r.reason = Some(e.to_string());
                failures.push(format!("{}: {e}", step.step));
                if let GraphError::Status {
                    status: 403,
                    message,
                    ..
                } = &e
                {
                    append(ctx, r)?;
                    return Err(ApplyError::Permission {
                        what: "the post-step set-user-type-guest",
                        permission: "User.ReadWrite.All",
                        message: message.clone(),
                    });
                }
            }
        }
        append(ctx, r)?;
    }
    Ok(failures)
}
