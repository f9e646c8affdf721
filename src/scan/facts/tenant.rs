//! The one-row tenant table: organization, policies, billing link and the portal addresses of
//! the tenant's cloud.

use crate::model::{Column, Table, tenant as tcol};
use crate::snapshot::tenant::TenantData;

pub(super) fn table(
    tenant: &TenantData,
    cloud: Option<&str>,
    manifest_tenant: Option<&str>,
    accounts_in_scope: usize,
) -> Table {
    let id = tenant
        .organization
        .as_ref()
        .and_then(|o| o.id.clone())
        .or(manifest_tenant.map(str::to_owned))
        .unwrap_or_default();
    let cross = tenant.cross_tenant_default.as_ref().map(|p| {
        let Some(ug) = p
            .b2b_collaboration_inbound
            .as_ref()
            .and_then(|b| b.users_and_groups.as_ref())
        else {
            return "allowed";
        };
        let all_users = ug
            .targets
            .iter()
            .flatten()
            .any(|t| t.target.as_deref() == Some("AllUsers"));
        match (ug.access_type.as_deref(), all_users) {
            (Some("allowed"), true) => "allowed",
            (Some("blocked"), true) => "blocked",
            _ => "restricted",
        }
    });
    let linked = tenant.is_ok("guestUsages").then(|| {
        tenant
            .guest_usages
            .iter()
            .filter(|g| {
                let t = g.properties.as_ref().and_then(|p| p.tenant_id.as_deref());
                id.is_empty() || t.is_some_and(|t| t.eq_ignore_ascii_case(&id))
            })
            .count() as i64
    });
    let otp = tenant.email_otp.as_ref();
    let state = otp.and_then(|o| o.state.clone());
    let external = otp.and_then(|o| o.allow_external_id_to_use_email_otp.clone());
    // Guests follow allowExternalIdToUseEmailOtp; `default` (or no value) means enabled today.
    // The method's state governs members, not guests.
    let otp_enabled = otp.map(|_| {
        !external
            .as_deref()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case("disabled"))
    });
    let (teams, myapps) = match cloud.unwrap_or("global") {
        "usgov" => (
            "https://gov.teams.microsoft.us",
            "https://myapps.microsoft.us",
        ),
        "usgovdod" => (
            "https://dod.teams.microsoft.us",
            "https://myapps.microsoft.us",
        ),
        "china" => (
            "https://teams.microsoftonline.cn",
            "https://myapps.microsoft.com",
        ),
        _ => (
            "https://teams.microsoft.com",
            "https://myapps.microsoft.com",
        ),
    };
    let mut t = Table::new(tcol::COLUMNS, 1);
    let mut set_text = |c: usize, v: Option<&str>| {
        if let Column::Text(s) = &mut t.columns[c] {
            s.push(v);
        }
    };
    set_text(tcol::TENANT_ID, Some(&id));
    set_text(
        tcol::TENANT_NAME,
        tenant
            .organization
            .as_ref()
            .and_then(|o| o.display_name.as_deref()),
    );
    set_text(
        tcol::ALLOW_INVITES_FROM,
        tenant
            .authorization_policy
            .as_ref()
            .and_then(|p| p.allow_invites_from.as_deref()),
    );
    set_text(tcol::CROSS_TENANT_INBOUND, cross);
    set_text(tcol::EMAIL_OTP_STATE, state.as_deref());
    set_text(tcol::EMAIL_OTP_FOR_EXTERNAL, external.as_deref());
    set_text(tcol::TEAMS_URL, Some(&format!("{teams}/?tenantId={id}")));
    set_text(tcol::MYAPPS_URL, Some(&format!("{myapps}/?tenantId={id}")));
    t.columns[tcol::LINKED_SUBSCRIPTIONS] = Column::Int(vec![linked]);
    t.columns[tcol::EMAIL_OTP_ENABLED] = Column::Bool(vec![otp_enabled]);
    t.columns[tcol::ACCOUNTS_IN_SCOPE] = Column::Int(vec![Some(accounts_in_scope as i64)]);
    t
}
