//! The NAT rules of `azure-wi-proxy init`, the reference's
//! `init/init-iptables.sh` (Azure/azure-workload-identity v1.6.0): the
//! pod's TCP to IMDS (169.254.169.254:80) is redirected to the proxy's
//! port, root's included, except what the proxy's own user sends (so the
//! proxy can still reach IMDS for what it forwards). Pure: the `iptables`
//! argument lists, run by the caller.

/// The rules' settings, from the variables the reference's script reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatSettings {
    /// `PROXY_PORT` (default 8000).
    pub proxy_port: u16,
    /// `PROXY_UID` (default 1501, the proxy image's user).
    pub proxy_uid: u32,
    /// `METADATA_IP` (default 169.254.169.254).
    pub metadata_ip: String,
    /// `METADATA_PORT` (default 80).
    pub metadata_port: u16,
}

/// The proxy image's user, whose traffic is never redirected.
pub const DEFAULT_PROXY_UID: u32 = 1501;

/// Why a setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} is {value:?}: {expected}")]
pub struct SettingError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What it should be.
    pub expected: &'static str,
}

impl NatSettings {
    /// Reads the settings with `lookup` (the process environment in the
    /// binary); an empty value counts as unset.
    ///
    /// # Errors
    ///
    /// [`SettingError`] naming the variable.
    pub fn from_lookup(
        mut lookup: impl FnMut(&str) -> Option<String>,
    ) -> Result<Self, SettingError> {
        let mut get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let port = |name: &'static str, value: Option<String>, default: u16| match value {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or(SettingError {
                    name,
                    value: v,
                    expected: "a port, 1 to 65535",
                }),
        };
        let proxy_port = port(
            "PROXY_PORT",
            get("PROXY_PORT"),
            azure_wi_core::names::DEFAULT_PROXY_PORT,
        )?;
        let metadata_port = port("METADATA_PORT", get("METADATA_PORT"), 80)?;
        let proxy_uid = match get("PROXY_UID") {
            None => DEFAULT_PROXY_UID,
            Some(v) => v.trim().parse().map_err(|_| SettingError {
                name: "PROXY_UID",
                value: v,
                expected: "a numeric user id",
            })?,
        };
        let metadata_ip = match get("METADATA_IP") {
            None => "169.254.169.254".to_owned(),
            Some(v) => match v.trim().parse::<std::net::Ipv4Addr>() {
                Ok(ip) => ip.to_string(),
                Err(_) => {
                    return Err(SettingError {
                        name: "METADATA_IP",
                        value: v,
                        expected: "an IPv4 address",
                    });
                }
            },
        };
        Ok(Self {
            proxy_port,
            proxy_uid,
            metadata_ip,
            metadata_port,
        })
    }
}

/// The chain the OUTPUT jump goes to.
pub const OUTPUT_CHAIN: &str = "AZWI_PROXY_OUTPUT";
/// The chain that redirects.
pub const REDIRECT_CHAIN: &str = "AZWI_PROXY_REDIRECT";

/// One `iptables` call: its arguments, and whether a failure is expected
/// and harmless (creating a chain that a restarted init container made
/// already).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Arguments after `iptables`.
    pub args: Vec<String>,
    /// Whether its failure is fine.
    pub may_fail: bool,
}

fn call(args: &[&str], may_fail: bool) -> Call {
    Call {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        may_fail,
    }
}

/// The calls, in order. Unlike the reference's script they can run twice
/// (an init container restarted in the same network namespace): chains
/// are created if missing and flushed, and the OUTPUT jump is checked
/// (`-C`) before it is added, by the caller running [`output_jump`] only
/// when its check fails.
pub fn calls(settings: &NatSettings) -> Vec<Call> {
    let port = settings.proxy_port.to_string();
    let uid = settings.proxy_uid.to_string();
    vec![
        call(&["-t", "nat", "-N", OUTPUT_CHAIN], true),
        call(&["-t", "nat", "-N", REDIRECT_CHAIN], true),
        call(&["-t", "nat", "-F", OUTPUT_CHAIN], false),
        call(&["-t", "nat", "-F", REDIRECT_CHAIN], false),
        call(
            &[
                "-t",
                "nat",
                "-A",
                REDIRECT_CHAIN,
                "-p",
                "tcp",
                "-j",
                "REDIRECT",
                "--to-port",
                &port,
            ],
            false,
        ),
        call(
            &[
                "-t",
                "nat",
                "-A",
                OUTPUT_CHAIN,
                "-m",
                "owner",
                "--uid-owner",
                &uid,
                "-j",
                "ACCEPT",
            ],
            false,
        ),
        call(
            &["-t", "nat", "-A", OUTPUT_CHAIN, "-j", REDIRECT_CHAIN],
            false,
        ),
    ]
}

/// The OUTPUT rule that sends IMDS traffic to [`OUTPUT_CHAIN`], without its
/// `-A`/`-C`: check it with `-C`, add it with `-A`.
pub fn output_jump(settings: &NatSettings) -> Vec<String> {
    let port = settings.metadata_port.to_string();
    [
        "-t",
        "nat",
        "OUTPUT",
        "-p",
        "tcp",
        "-d",
        &settings.metadata_ip,
        "--dport",
        &port,
        "-j",
        OUTPUT_CHAIN,
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect()
}

/// `output_jump` with `op` (`-C` or `-A`) in its place after `-t nat`.
pub fn with_op(rule: &[String], op: &str) -> Vec<String> {
    let mut args = rule.to_vec();
    args.insert(2, op.to_owned());
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<NatSettings, SettingError> {
        NatSettings::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults_and_overrides_as_the_reference_script() {
        let defaults = settings(&[]).unwrap();
        assert_eq!(
            defaults,
            NatSettings {
                proxy_port: 8000,
                proxy_uid: 1501,
                metadata_ip: "169.254.169.254".into(),
                metadata_port: 80
            }
        );
        let set = settings(&[("PROXY_PORT", "8081"), ("PROXY_UID", "0")]).unwrap();
        assert_eq!((set.proxy_port, set.proxy_uid), (8081, 0));
        assert_eq!(
            settings(&[("PROXY_PORT", "80x")]).unwrap_err().to_string(),
            "PROXY_PORT is \"80x\": a port, 1 to 65535"
        );
        assert_eq!(
            settings(&[("METADATA_IP", "imds")]).unwrap_err().name,
            "METADATA_IP"
        );
    }

    #[test]
    fn the_rules_are_the_reference_scripts() {
        let s = settings(&[("PROXY_PORT", "8081")]).unwrap();
        let text: Vec<String> = calls(&s).iter().map(|c| c.args.join(" ")).collect();
        assert!(text.contains(
            &"-t nat -A AZWI_PROXY_REDIRECT -p tcp -j REDIRECT --to-port 8081".to_owned()
        ));
        assert!(text.contains(
            &"-t nat -A AZWI_PROXY_OUTPUT -m owner --uid-owner 1501 -j ACCEPT".to_owned()
        ));
        assert!(text.contains(&"-t nat -A AZWI_PROXY_OUTPUT -j AZWI_PROXY_REDIRECT".to_owned()));
        assert_eq!(
            with_op(&output_jump(&s), "-A").join(" "),
            "-t nat -A OUTPUT -p tcp -d 169.254.169.254 --dport 80 -j AZWI_PROXY_OUTPUT"
        );
    }
}
