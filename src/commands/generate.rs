//! `b2bready generate`.

use crate::cli::GenerateArgs;
use crate::error::Error;

pub fn run(args: GenerateArgs) -> Result<u8, Error> {
    crate::synth::generate(&args.out, args.users, args.seed, args.zstd, &args.shape)?;
    eprintln!(
        "wrote a tenant of {} accounts (seed {}) to {}",
        args.users,
        args.seed,
        args.out.display()
    );
    Ok(0)
}
