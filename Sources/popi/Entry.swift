import App

/// The executable only starts the command line, which lives in App.
@main extension PopiCommand {}
