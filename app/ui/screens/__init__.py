"""The screens of the Carry app; each builds controls from app.views data and calls back into CarryApp."""
