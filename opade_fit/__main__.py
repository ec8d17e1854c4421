"""``python -m opade_fit`` runs the ``opade`` command."""

from opade_fit.cli import main

if __name__ == "__main__":
    main()
