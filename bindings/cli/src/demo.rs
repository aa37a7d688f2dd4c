//! `timbang demo`: a posyandu story on real databases in a temporary folder.

use crate::DemoArgs;
use crate::output::CliError;

pub fn run(_args: &DemoArgs) -> Result<(), CliError> {
    Err(CliError::Other("demo not written yet".into()))
}
