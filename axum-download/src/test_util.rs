//! Test helpers for applications that return downloads.
