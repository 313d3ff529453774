//! The `discesa-mpi` executable: the program of `discesa`, linked with the MPI library
//! (`discesa` hands over to it under an MPI launcher; see the library's `mpi_link`).

use discesa::dist::{abort_world, fault, finalize_mpi, Communicator, MpiComm};
use discesa_cli::mpi_link::MpiEntry;

/// The world communicator; a panic on this rank then aborts the whole job.
fn init() -> Option<Box<dyn Communicator>> {
    let comm = MpiComm::init()?;
    fault::install_rank_hook(comm.rank(), abort_world);
    Some(Box::new(comm))
}

fn main() {
    discesa_cli::main(Some(MpiEntry {
        init,
        finalize: finalize_mpi,
    }))
}
